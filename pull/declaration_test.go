package pull_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pull"
)

// copyExample copies testdata/examples/<name> to a temporary directory and
// applies edits (file path → new content, "" to remove) to it.
func copyExample(t *testing.T, name string, edits map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(examples, name))); err != nil {
		t.Fatal(err)
	}
	for p, content := range edits {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if content == "" {
			if err := os.Remove(full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "runid.yaml")
}

// TestVerifyDeclaration verifies a stored identity against local
// declarations: the same one passes; edited ones fail with the
// "declaration" check and list the component differences by name.
func TestVerifyDeclaration(t *testing.T) {
	comp := testutil.LoadExample(t, "rag-agent")
	store, _ := testutil.NewLayout(t)
	testutil.Push(t, store, comp, tag)
	orig, err := os.ReadFile(filepath.Join(examples, "rag-agent", "runid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(string(orig), old) {
			t.Fatalf("the rag-agent declaration has no %q", old)
		}
		return strings.Replace(string(orig), old, new, 1)
	}

	for _, tc := range []struct {
		name    string
		edits   map[string]string
		changes []string // "name:change", in report order
	}{
		{name: "same"},
		{name: "file changed", edits: map[string]string{"context/03-warranty.md": "Warranty: none.\n"},
			changes: []string{"context/03-warranty.md:changed"}},
		{name: "component removed from the declaration",
			edits: map[string]string{"runid.yaml": edit(`    - name: context/04-account-security.md
      file: context/04-account-security.md
`, "")},
			changes: []string{"context/04-account-security.md:added"}},
		{name: "component added to the declaration",
			edits: map[string]string{"context/05-new.md": "new\n", "runid.yaml": edit(`      file: context/04-account-security.md
`, `      file: context/04-account-security.md
    - name: context/05-new.md
      file: context/05-new.md
`)},
			changes: []string{"context/05-new.md:removed"}},
		{name: "tools swapped",
			edits: map[string]string{"runid.yaml": edit(`    - name: tools/search_knowledge_base.json
      file: tools/search_knowledge_base.json
    - name: tools/create_ticket.json
      file: tools/create_ticket.json
`, `    - name: tools/create_ticket.json
      file: tools/create_ticket.json
    - name: tools/search_knowledge_base.json
      file: tools/search_knowledge_base.json
`)},
			changes: []string{"tools/create_ticket.json:moved", "tools/search_knowledge_base.json:moved"}},
		{name: "renamed",
			edits:   map[string]string{"runid.yaml": edit("name: config/agent.yaml", "name: config/agent-v2.yaml")},
			changes: []string{"config/agent-v2.yaml:removed", "config/agent.yaml:added"}},
		{name: "role state only",
			edits: map[string]string{"runid.yaml": string(orig) + "  com.example.extra: none\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decl := copyExample(t, "rag-agent", tc.edits)
			rep, err := pull.Verify(t.Context(), store, tag, pull.VerifyOptions{Declaration: decl})
			if tc.edits == nil {
				if err != nil || !rep.Verified || len(rep.Differences) != 0 {
					t.Fatalf("verify = %v, %+v", err, rep)
				}
				return
			}
			testutil.WantVerificationError(t, err, "declaration")
			wantFailedChecks(t, rep, "declaration")
			var got []string
			for _, d := range rep.Differences {
				got = append(got, d.Name+":"+d.Change)
			}
			if strings.Join(got, ",") != strings.Join(tc.changes, ",") {
				t.Errorf("differences = %v, want %v", got, tc.changes)
			}
			// Everything else still verified: only the declaration failed.
			for _, c := range rep.Checks {
				if !c.OK && c.Check != "declaration" {
					t.Errorf("unexpected failed check %+v", c)
				}
			}
		})
	}

	t.Run("declaration missing", func(t *testing.T) {
		_, err := pull.Verify(t.Context(), store, tag, pull.VerifyOptions{Declaration: filepath.Join(t.TempDir(), "runid.yaml")})
		var ve *pull.VerificationError
		if err == nil || errors.As(err, &ve) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error = %v, want a could-not-check error wrapping os.ErrNotExist", err)
		}
	})
}
