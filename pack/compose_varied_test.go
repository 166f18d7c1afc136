package pack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// TestComposeMatchesWriteDirLoad: on runs of every shape, the composition
// that Compose builds in memory has the identity of the declaration and
// files that WriteDir writes, read back by Load and by Digest.
func TestComposeMatchesWriteDirLoad(t *testing.T) {
	secret := bytes.Repeat([]byte("k"), spec.MinWithholdSecretSize)
	binary := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0x80}
	tests := []struct {
		name string
		run  *pack.Run
	}{
		{"minimal", composeMinimalRun(nil)},
		{"every format", composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleParameters, pack.JSON("parameters.json", json.RawMessage(`{ "temperature": 0.2, "b": [1, "<&>"] }`)))
			r.Add(mediatype.RoleSystemPrompt, pack.Text("system.md", "You help.\r\nBe brief. é\n"))
			r.Add(mediatype.RoleTools, pack.JSON("tools/search.json", map[string]any{"name": "search", "params": []string{"q"}}))
			r.Add(mediatype.RoleContext,
				pack.Text("context/a.txt", ""),
				pack.YAML("context/b.yaml", []byte("a: 1\nb: [x, y]\n")),
				pack.Binary("context/c.bin", binary))
			r.Add(mediatype.RoleInput, pack.Text("input.txt", "What is shipping?"))
			r.Add(mediatype.RoleConfig, pack.YAML("config.yml", []byte("# comment kept\nk: v\n")))
			r.Add(mediatype.RoleRuntime, pack.JSON("runtime.json", map[string]string{"python": "3.12"}))
		})},
		{"extension roles", composeMinimalRun(func(r *pack.Run) {
			r.Add("com.example.guardrails", pack.YAML("guardrails/policy.yaml", []byte("deny: [x]\n")), pack.Text("guardrails/notes.md", "n"))
			r.Add("org.acme-corp.retrieval", pack.Binary("index.faiss", binary))
			r.None("io.example.memory")
		})},
		{"withheld parts", composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleInput, pack.Text("input.md", "secret question").Withhold())
			r.Add(mediatype.RoleContext,
				pack.JSON("context/account.json", map[string]int{"id": 7}).Withhold(),
				pack.Text("context/public.md", "public"),
				pack.Binary("context/blob", binary).Withhold())
			r.Add("com.example.notes", pack.YAML("notes.yaml", []byte("n: 1\n")).Withhold())
		})},
		{"none roles only besides the model", composeMinimalRun(func(r *pack.Run) {
			r.None(mediatype.RoleInput, mediatype.RoleRuntime, "com.example.empty")
		})},
		{"names that YAML would misread", composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleContext,
				pack.Text("yes", "y"), pack.Text("Null", "n"), pack.Text("123", "digits"),
				pack.Text("- dash.md", "d"), pack.Text("a b/c #d.md", "spaces"),
				pack.Text("'quote'.md", "q"), pack.Text("docs/ünï çödé.md", "u"),
				pack.Text("odd\uFFFEname.md", "noncharacter"), pack.Text("{braces}.txt", "b"))
		})},
		{"name that clashes with the declaration", composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleConfig, pack.YAML("runid.yaml", []byte("a: 1\n")), pack.Text("other.md", "o"))
		})},
		{"roles mentioned out of order", func() *pack.Run {
			var r pack.Run
			r.None("com.example.z", mediatype.RoleRuntime)
			r.Add("com.example.a", pack.Text("a.md", "a"))
			r.Add(mediatype.RoleInput, pack.Text("in.md", "i"))
			r.None(mediatype.RoleConfig, mediatype.RoleContext, mediatype.RoleTools, mediatype.RoleSystemPrompt, mediatype.RoleParameters)
			r.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]string{"name": "m"}))
			return &r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := pack.BuildOptions{WithholdSecret: secret}
			mem, err := tt.run.Compose(t.Context(), opts)
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			res, err := tt.run.WriteDir(t.Context(), t.TempDir(), pack.WriteOptions{Build: opts})
			if err != nil {
				t.Fatalf("WriteDir: %v", err)
			}
			loaded, err := pack.Load(t.Context(), res.Declaration, opts)
			if err != nil {
				decl, _ := filepath.Abs(res.Declaration)
				t.Fatalf("Load of what WriteDir wrote (%s): %v", decl, err)
			}
			if !bytes.Equal(mem.Identity.DocumentBytes, loaded.Identity.DocumentBytes) {
				t.Errorf("identity documents differ:\nCompose %s\nLoad    %s", mem.Identity.DocumentBytes, loaded.Identity.DocumentBytes)
			}
			if mem.Digest() != loaded.Digest() || res.Digest != mem.Digest() {
				t.Errorf("Compose %s, WriteDir %s, Load %s", mem.Digest(), res.Digest, loaded.Digest())
			}
			if len(mem.Components) != len(loaded.Components) {
				t.Fatalf("Compose has %d components, Load %d", len(mem.Components), len(loaded.Components))
			}
			for i, c := range mem.Components {
				l := loaded.Components[i]
				if c.Role != l.Role || c.Name != l.Name || c.Digest != l.Digest || c.MediaType != l.MediaType {
					t.Errorf("component %d: Compose %s %q %s %s, Load %s %q %s %s", i, c.Role, c.Name, c.MediaType, c.Digest, l.Role, l.Name, l.MediaType, l.Digest)
				}
			}
			t.Logf("digest %s", mem.Digest())
		})
	}
}

// TestWriteDirDeclarationTooLarge: a run too big to be written as one
// declaration file is refused by WriteDir, which writes nothing, while
// Compose, which reads no file, builds it.
func TestWriteDirDeclarationTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a run of many parts")
	}
	run := composeMinimalRun(func(r *pack.Run) {
		// Each part takes its name twice (name and file) in the text.
		long := strings.Repeat("n", 200)
		for i := range spec.MaxDeclarationSize / 400 {
			r.Add(mediatype.RoleContext, pack.Text(long+"/"+strconv.Itoa(i), "c"))
		}
	})
	if _, err := run.Compose(t.Context(), pack.BuildOptions{}); err != nil {
		t.Fatalf("Compose: %v", err)
	}
	dir := t.TempDir()
	if _, err := run.WriteDir(t.Context(), dir, pack.WriteOptions{}); !errors.Is(err, spec.ErrDeclarationTooLarge) {
		t.Fatalf("WriteDir: %v, want %v", err, spec.ErrDeclarationTooLarge)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("WriteDir of a run too large wrote %d entries", len(entries))
	}
}
