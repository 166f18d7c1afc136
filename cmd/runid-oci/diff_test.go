package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pull/diff"
)

// diffEdit replaces old (which must occur once) with new in the file rel
// next to the declaration decl.
func diffEdit(t *testing.T, decl, rel, old, new string) {
	t.Helper()
	p := filepath.Join(filepath.Dir(decl), rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), old) != 1 {
		t.Fatalf("%s: %q does not occur once", rel, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// diffFixture is the rag-agent example (A) and a copy (B) with a changed
// temperature, a changed system prompt line, a removed context document and
// a changed YAML config key, both pushed to one OCI layout as tags a and b.
type diffFixture struct {
	declA, declB string
	layout       string
}

func newDiffFixture(t *testing.T) diffFixture {
	t.Helper()
	f := diffFixture{declA: copyExample(t, "rag-agent"), declB: copyExample(t, "rag-agent"), layout: filepath.Join(t.TempDir(), "layout")}
	diffEdit(t, f.declB, "runid.yaml", "temperature: 0.2", "temperature: 0.7")
	diffEdit(t, f.declB, "runid.yaml", "    - name: context/04-account-security.md\n      file: context/04-account-security.md\n", "")
	diffEdit(t, f.declB, "prompts/system.md", "Be warm and direct.", "Be warm, direct and brief.")
	diffEdit(t, f.declB, "config/agent.yaml", "top_k: 20", "top_k: 30")
	mustRun(t, 0, "push", "--oci-layout", f.layout+":a", f.declA)
	mustRun(t, 0, "push", "--oci-layout", f.layout+":b", f.declB)
	return f
}

// wantDiffText lists what the text output of comparing A and B of the
// fixture must hold.
var wantDiffText = []string{
	"parameters\n  changed   parameters.json\n    parameters.temperature: 0.2 -> 0.7\n",
	"system-prompt\n  changed   system-prompt/support-agent.md\n    --- a/system-prompt/support-agent.md\n    +++ b/system-prompt/support-agent.md\n",
	"    -- Be warm and direct. Do not apologise more than once per conversation.\n    +- Be warm, direct and brief. Do not apologise more than once per conversation.\n",
	"context\n  removed   context/04-account-security.md (text, ",
	"config\n  changed   config/agent.yaml\n    config.retriever.top_k: 20 -> 30\n",
}

func TestDiff(t *testing.T) {
	f := newDiffFixture(t)
	reg := testregistry.StartDistribution(t)
	mustRun(t, 0, "push", "--plain-http", reg.Ref("runs", "a"), f.declA)
	tarPath := filepath.Join(t.TempDir(), "layout.tar")
	testutil.TarDir(t, f.layout, tarPath)

	tests := []struct {
		name string
		args []string
		kind [2]string
	}{
		{name: "declaration and declaration", args: []string{f.declA, f.declB}, kind: [2]string{"declaration", "declaration"}},
		{name: "declaration directories", args: []string{filepath.Dir(f.declA), filepath.Dir(f.declB)}, kind: [2]string{"declaration", "declaration"}},
		{name: "layout identities", args: []string{"--oci-layout", f.layout + ":a", f.layout + ":b"}, kind: [2]string{"identity", "identity"}},
		{name: "layout tar identities", args: []string{"--oci-layout", tarPath + ":a", tarPath + ":b"}, kind: [2]string{"identity", "identity"}},
		{name: "registry identity and declaration", args: []string{"--plain-http", reg.Ref("runs", "a"), f.declB}, kind: [2]string{"identity", "declaration"}},
		{name: "declaration and layout identity", args: []string{"--oci-layout", f.declA, f.layout + ":b"}, kind: [2]string{"declaration", "identity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, diffDifferent, append([]string{"diff"}, tt.args...)...)
			if r.stderr != "" {
				t.Errorf("stderr: %s", r.stderr)
			}
			for _, s := range wantDiffText {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("text output lacks %q:\n%s", s, r.stdout)
				}
			}

			cmp := decodeJSON[diff.Comparison](t, mustRun(t, diffDifferent, append([]string{"diff", "-o", "json"}, tt.args...)...).stdout)
			if cmp.Identical || cmp.A.Kind != tt.kind[0] || cmp.B.Kind != tt.kind[1] || cmp.A.Digest == cmp.B.Digest {
				t.Errorf("json: identical=%v kinds %s, %s digests %s, %s", cmp.Identical, cmp.A.Kind, cmp.B.Kind, cmp.A.Digest, cmp.B.Digest)
			}
			var changed []string
			for _, role := range cmp.Roles {
				for _, c := range role.Components {
					changed = append(changed, c.Name+":"+c.Change)
				}
			}
			want := "parameters.json:changed system-prompt/support-agent.md:changed context/04-account-security.md:removed config/agent.yaml:changed"
			if strings.Join(changed, " ") != want {
				t.Errorf("json components %v, want %s", changed, want)
			}

			stat := mustRun(t, diffDifferent, append([]string{"diff", "--stat"}, tt.args...)...).stdout
			lines := strings.Split(strings.TrimSuffix(stat, "\n"), "\n")
			if len(lines) != len(changed)+1 {
				t.Fatalf("--stat has %d lines, want one per component and a summary:\n%s", len(lines), stat)
			}
			for i, c := range changed {
				name := strings.SplitN(c, ":", 2)[0]
				if !strings.Contains(lines[i], name) || !strings.Contains(lines[i], "|") {
					t.Errorf("--stat line %d %q does not describe %s", i, lines[i], name)
				}
			}
			for _, s := range []string{"changed text +1 -1", "changed structured, 1 path", "removed text"} {
				if !strings.Contains(stat, s) {
					t.Errorf("--stat lacks %q:\n%s", s, stat)
				}
			}
			if !strings.HasSuffix(stat, " 4 components differ: 1 removed, 3 changed\n") {
				t.Errorf("--stat summary:\n%s", stat)
			}
		})
	}
}

func TestDiffIdentical(t *testing.T) {
	f := newDiffFixture(t)
	tests := []struct {
		name string
		args []string
	}{
		{name: "same declaration", args: []string{f.declA, f.declA}},
		{name: "identity and its declaration", args: []string{"--oci-layout", f.layout + ":a", f.declA}},
		{name: "tag and digest", args: []string{"--oci-layout", f.layout + ":b", f.layout + "@" + packDigest(t, f.declB)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, diffSame, append([]string{"diff"}, tt.args...)...)
			if !strings.HasSuffix(r.stdout, "\nidentical\n") || r.stderr != "" {
				t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
			cmp := decodeJSON[diff.Comparison](t, mustRun(t, diffSame, append([]string{"diff", "-o", "json"}, tt.args...)...).stdout)
			if !cmp.Identical || len(cmp.Roles) != 0 || cmp.A.Digest != cmp.B.Digest {
				t.Errorf("json: %+v", cmp)
			}
			all := decodeJSON[diff.Comparison](t, mustRun(t, diffSame, append([]string{"diff", "-o", "json", "--all"}, tt.args...)...).stdout)
			if len(all.Roles) != 8 {
				t.Errorf("--all lists %d roles, want the 8 core roles", len(all.Roles))
			}
			for _, r := range all.Roles {
				for _, c := range r.Components {
					if c.Change != diff.ChangeUnchanged {
						t.Errorf("--all: %s %s", c.Name, c.Change)
					}
				}
			}
		})
	}
}

// TestDiffTrouble: anything that keeps diff from comparing exits 2, and a
// side that does not verify is named.
func TestDiffTrouble(t *testing.T) {
	f := newDiffFixture(t)
	tampered := filepath.Join(t.TempDir(), "tampered")
	comp := pushExample(t, store{flags: []string{"--oci-layout"}, ref: func(_, ref string) string { return tampered + ":" + ref }}, "rag-agent", "", "v1")
	testutil.TamperBlob(t, tampered, comp.Components[2].Digest)

	tests := []struct {
		name     string
		args     []string
		inStderr []string
	}{
		{name: "B does not verify", args: []string{"diff", "--oci-layout", f.layout + ":a", tampered + ":v1"},
			inStderr: []string{"B (" + tampered + ":v1)", "does not verify", "blob-digest", comp.Components[2].Name}},
		{name: "A does not verify", args: []string{"diff", "--oci-layout", tampered + ":v1", f.declA},
			inStderr: []string{"A (" + tampered + ":v1)", "does not verify"}},
		{name: "unknown tag", args: []string{"diff", "--oci-layout", f.layout + ":a", f.layout + ":nope"}, inStderr: []string{"B (", "nope"}},
		{name: "missing layout", args: []string{"diff", "--oci-layout", filepath.Join(t.TempDir(), "none") + ":a", f.declA}, inStderr: []string{"A:"}},
		{name: "unreachable registry", args: []string{"diff", "--plain-http", "127.0.0.1:1/runs:v1", f.declA}, inStderr: []string{"127.0.0.1:1"}},
		{name: "bad declaration", args: []string{"diff", f.declA, filepath.Join(examplesDir, "..", "declarations", "bad", "missing-runid.yaml")}, inStderr: []string{"B (", "runid"}},
		{name: "one argument", args: []string{"diff", f.declA}, inStderr: []string{"A B"}},
		{name: "negative context", args: []string{"diff", "--context", "-1", f.declA, f.declB}, inStderr: []string{"--context"}},
		{name: "unknown flag", args: []string{"diff", "--nope", f.declA, f.declB}, inStderr: []string{"--nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, diffTrouble, tt.args...)
			if r.stdout != "" {
				t.Errorf("stdout: %s", r.stdout)
			}
			for _, s := range tt.inStderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
		})
	}
}

// TestDiffOptions: --context and --max-diff-size reach the comparison.
func TestDiffOptions(t *testing.T) {
	f := newDiffFixture(t)
	r := mustRun(t, diffDifferent, "diff", "--context", "0", f.declA, f.declB)
	if !strings.Contains(r.stdout, "    @@ -17 +17 @@\n    -- Be warm and direct.") {
		t.Errorf("--context 0:\n%s", r.stdout)
	}
	r = mustRun(t, diffDifferent, "diff", "--max-diff-size", "100", f.declA, f.declB)
	if !strings.Contains(r.stdout, "too large to diff") || strings.Contains(r.stdout, "+++ b/system-prompt") {
		t.Errorf("--max-diff-size 100:\n%s", r.stdout)
	}
}

// TestDiffWithheld: a declaration that withholds its system prompt needs
// the withhold secret; with it, it is identical to the identity pushed from
// it, and another prompt is reported as differing commitments.
func TestDiffWithheld(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUNID_WITHHOLD_SECRET_FILE", "")
	declA, declB := copyExample(t, "rag-agent"), copyExample(t, "rag-agent")
	for _, d := range []string{declA, declB} {
		diffEdit(t, d, "runid.yaml", "      file: prompts/system.md\n", "      file: prompts/system.md\n      withheld: true\n")
	}
	diffEdit(t, declB, "prompts/system.md", "Be warm and direct.", "Be brief.")
	layout := filepath.Join(t.TempDir(), "layout")
	mustRun(t, 0, "push", "--oci-layout", "--withhold-secret-file", secret, "--reveal-dir", filepath.Join(t.TempDir(), "reveals"), layout+":a", declA)

	mustRun(t, diffSame, "diff", "--oci-layout", "--withhold-secret-file", secret, layout+":a", declA)
	r := mustRun(t, diffDifferent, "diff", "--withhold-secret-file", secret, declA, declB)
	want := "system-prompt\n  changed   system-prompt/support-agent.md\n    withheld: commitments differ, cannot look inside\n    sha256:"
	if !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "Be brief") {
		t.Errorf("stdout lacks %q or shows the withheld content:\n%s", want, r.stdout)
	}
	r = mustRun(t, diffTrouble, "diff", "--oci-layout", layout+":a", declA)
	if !strings.Contains(r.stderr, "B (") || !strings.Contains(r.stderr, "secret") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}
