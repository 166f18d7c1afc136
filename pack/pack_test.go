package pack_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// exampleDecls lists the declaration of every example.
func exampleDecls(t *testing.T) []string {
	t.Helper()
	decls, err := filepath.Glob(filepath.Join(examplesDir, "*", "runid.yaml"))
	if err != nil || len(decls) == 0 {
		t.Fatalf("no examples in %s: %v", examplesDir, err)
	}
	return decls
}

// fileComponents returns the file fields of every file-backed component of
// a declaration, keyed by the logical name.
func fileComponents(t testing.TB, doc yaml.MapSlice) map[string]yaml.MapSlice {
	t.Helper()
	out := map[string]yaml.MapSlice{}
	for _, r := range roles(t, doc) {
		list, ok := r.Value.([]any)
		if !ok {
			continue
		}
		for _, c := range list {
			m := c.(yaml.MapSlice)
			if _, ok := mapGet(m, "file"); ok {
				n, _ := mapGet(m, "name")
				out[n.(string)] = m
			}
		}
	}
	return out
}

// reverseKeys reverses the key order of every map in v, recursively.
func reverseKeys(v any) any {
	switch x := v.(type) {
	case yaml.MapSlice:
		out := make(yaml.MapSlice, len(x))
		for i, it := range x {
			out[len(x)-1-i] = yaml.MapItem{Key: it.Key, Value: reverseKeys(it.Value)}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = reverseKeys(e)
		}
		return out
	}
	return v
}

// A rewrite changes a copy of an example (in dir) and its declaration
// without changing its composition.
type rewrite func(t *testing.T, dir string, doc yaml.MapSlice) yaml.MapSlice

var (
	// moveFiles puts every component file at another relative path (with
	// no file extension, so formats must come from the logical names) and
	// rewrites the file fields; the logical names stay.
	moveFiles rewrite = func(t *testing.T, dir string, doc yaml.MapSlice) yaml.MapSlice {
		i := 0
		for _, m := range fileComponents(t, doc) {
			old, _ := mapGet(m, "file")
			moved := fmt.Sprintf("elsewhere/deeper/%d/blob-%d", i, i)
			i++
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(moved)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(dir, old.(string)), filepath.Join(dir, moved)); err != nil {
				t.Fatal(err)
			}
			setField(t, m, "file", moved)
		}
		if i == 0 {
			t.Fatal("no component file to move")
		}
		return doc
	}
	// touchFiles gives every file another modification time and mode.
	touchFiles rewrite = func(t *testing.T, dir string, doc yaml.MapSlice) yaml.MapSlice {
		i := 0
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			i++
			when := time.Date(1999, 12, 31, 23, 59, i, 0, time.UTC)
			if err := os.Chtimes(p, when, when); err != nil {
				return err
			}
			return os.Chmod(p, 0o600|os.FileMode(i%2)*0o100)
		})
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	// reverseRoles writes the roles in the reverse order.
	reverseRoles rewrite = func(t *testing.T, dir string, doc yaml.MapSlice) yaml.MapSlice {
		r := slices.Clone(roles(t, doc))
		slices.Reverse(r)
		setRoles(doc, r)
		return doc
	}
	// reformatJSONFiles rewrites every JSON component file with other
	// whitespace, key order and string escaping.
	reformatJSONFiles rewrite = func(t *testing.T, dir string, doc yaml.MapSlice) yaml.MapSlice {
		n := 0
		for name, m := range fileComponents(t, doc) {
			if filepath.Ext(name) != ".json" {
				continue
			}
			f, _ := mapGet(m, "file")
			p := filepath.Join(dir, f.(string))
			writeFile(t, p, reformatJSON(t, testutil.ReadFile(t, p)))
			n++
		}
		if n == 0 {
			t.Fatal("no JSON component file to reformat")
		}
		return doc
	}
	// reverseInlineKeys reverses the key order of every inline value.
	reverseInlineKeys rewrite = func(t *testing.T, dir string, doc yaml.MapSlice) yaml.MapSlice {
		r := roles(t, doc)
		for i := range r {
			r[i].Value = reverseKeys(r[i].Value)
		}
		return doc
	}
)

// TestDeterminism checks that the identity depends on the composition only:
// not on where the files are, their times and modes, the order of roles in
// the declaration, or the whitespace and key order of structured components.
func TestDeterminism(t *testing.T) {
	src := filepath.Join(examplesDir, "rag-agent")
	want := load(t, filepath.Join(src, "runid.yaml"))

	all := func(rs ...rewrite) rewrite {
		return func(t *testing.T, dir string, doc yaml.MapSlice) yaml.MapSlice {
			for _, r := range rs {
				doc = r(t, dir, doc)
			}
			return doc
		}
	}
	tests := []struct {
		name    string
		rewrite rewrite
	}{
		{"copied elsewhere", func(t *testing.T, dir string, doc yaml.MapSlice) yaml.MapSlice { return doc }},
		{"files at other paths", moveFiles},
		{"other mtimes and modes", touchFiles},
		{"roles reordered", reverseRoles},
		{"JSON files reformatted", reformatJSONFiles},
		{"inline keys reordered", reverseInlineKeys},
		{"all at once", all(moveFiles, reformatJSONFiles, reverseInlineKeys, reverseRoles, touchFiles)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "some", "other", "place")
			copyTree(t, src, dir)
			decl := filepath.Join(dir, "runid.yaml")
			doc := tc.rewrite(t, dir, readDecl(t, decl))
			writeDecl(t, decl, doc)
			got := load(t, decl)
			if got.Digest() != want.Digest() {
				t.Errorf("digest = %s, want %s", got.Digest(), want.Digest())
			}
			if !bytes.Equal(got.Identity.ManifestBytes, want.Identity.ManifestBytes) {
				t.Errorf("manifest differs:\n got %s\nwant %s", got.Identity.ManifestBytes, want.Identity.ManifestBytes)
			}
			d, err := pack.Digest(t.Context(), decl, pack.BuildOptions{Concurrency: 1})
			if err != nil {
				t.Fatal(err)
			}
			if d != want.Digest() {
				t.Errorf("pack.Digest = %s, want %s", d, want.Digest())
			}
		})
	}
}

// TestDeterminismStructuredNormalization checks that JSON components are
// hashed in their RFC 8785 form: whitespace, key order, string escapes and
// number spelling do not matter, for file and inline components alike.
func TestDeterminismStructuredNormalization(t *testing.T) {
	const tool = `{"type":"function","function":{"name":"lookup","description":"Look <up> a word","parameters":{"type":"object","properties":{"word":{"type":"string","maxLength":64}}}}}`
	decl := func(params string) string {
		return `runid: "1"
roles:
  model: { provider: example, name: m }
  parameters: ` + params + `
  system-prompt: none
  tools:
    - name: tools/lookup.json
      file: lookup.json
  context: none
  input:
    - name: input.txt
      text: "hi"
  config: none
  runtime: none
`
	}
	build := func(t *testing.T, toolJSON, params string) digest.Digest {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "lookup.json"), []byte(toolJSON))
		writeFile(t, filepath.Join(dir, "runid.yaml"), []byte(decl(params)))
		return load(t, filepath.Join(dir, "runid.yaml")).Digest()
	}
	base := build(t, tool, `{ temperature: 0.5, max_tokens: 100 }`)
	tests := []struct {
		name, tool, params string
	}{
		{"tool reformatted", string(reformatJSON(t, []byte(tool))), `{ temperature: 0.5, max_tokens: 100 }`},
		{"tool pretty-printed", "{\n  \"type\": \"function\",\n  \"function\": {\n    \"name\": \"lookup\",\n    \"description\": \"Look <up> a word\",\n    \"parameters\": {\"type\": \"object\", \"properties\": {\"word\": {\"type\": \"string\", \"maxLength\": 64}}}\n  }\n}\n", `{ temperature: 0.5, max_tokens: 100 }`},
		{"tool escapes and numbers", `{"function":{"parameters":{"properties":{"word":{"maxLength":6.4e1,"type":"\u0073tring"}},"type":"object"},"description":"Look \u003cup\u003e a word","name":"lookup"},"type":"function"}`, `{ temperature: 0.5, max_tokens: 100 }`},
		{"parameters keys reordered", tool, `{ max_tokens: 100, temperature: 0.5 }`},
		{"parameters block style", tool, "\n    max_tokens: 100\n    temperature: 0.50"},
		{"parameters as JSON", tool, `{"max_tokens": 1.0e+2, "temperature": 0.50}`},
		{"parameters with bare exponents", tool, `{"max_tokens": 1e2, "temperature": 5e-1}`},
		{"parameters in hex and octal", tool, `{"max_tokens": 0x64, "temperature": 0.5}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := build(t, tc.tool, tc.params); got != base {
				t.Errorf("digest = %s, want %s", got, base)
			}
		})
	}
}

// TestEveryComponentChangesDigest changes one byte of each component of
// each example in turn: the identity digest must change, and only that
// component's digest.
func TestEveryComponentChangesDigest(t *testing.T) {
	for _, declPath := range exampleDecls(t) {
		src := filepath.Dir(declPath)
		base := load(t, declPath)
		for i, comp := range base.Components {
			t.Run(filepath.Base(src)+"/"+comp.Name, func(t *testing.T) {
				dir := t.TempDir()
				copyTree(t, src, dir)
				decl := filepath.Join(dir, "runid.yaml")
				doc := readDecl(t, decl)
				role, item := componentItem(t, doc, comp.Name)
				switch {
				case item == nil: // the shorthand: the role is one inline map
					r := roles(t, doc)
					v, _ := mapGet(r, role)
					nv, ok := changeFirstLeaf(v)
					if !ok {
						t.Fatal("no letter to change")
					}
					setField(t, r, role, nv)
				default:
					var field string
					for _, f := range []string{"file", "inline", "text"} {
						if _, ok := mapGet(item, f); ok {
							field = f
						}
					}
					v, _ := mapGet(item, field)
					if field == "file" {
						p := filepath.Join(dir, v.(string))
						old := testutil.ReadFile(t, p)
						var changed []byte
						if _, format, _ := mediatype.ParseComponent(comp.MediaType); format == mediatype.FormatJSON {
							changed = toggleJSONStringLetter(t, old)
						} else {
							changed = toggleLastLetter(t, old)
						}
						writeFile(t, p, changed)
						break
					}
					nv, ok := changeFirstLeaf(v)
					if !ok {
						t.Fatal("no letter to change")
					}
					setField(t, item, field, nv)
				}
				writeDecl(t, decl, doc)

				got := load(t, decl)
				if got.Digest() == base.Digest() {
					t.Fatalf("digest unchanged (%s) after changing %s", got.Digest(), comp.Name)
				}
				if len(got.Components) != len(base.Components) {
					t.Fatalf("%d components, want %d", len(got.Components), len(base.Components))
				}
				for j, c := range got.Components {
					same := c.Digest == base.Components[j].Digest
					if c.Name != base.Components[j].Name {
						t.Errorf("component %d is %q, want %q", j, c.Name, base.Components[j].Name)
					}
					if j == i && same {
						t.Errorf("changed component %q kept its digest %s", c.Name, c.Digest)
					}
					if j != i && !same {
						t.Errorf("unchanged component %q has digest %s, want %s", c.Name, c.Digest, base.Components[j].Digest)
					}
				}
			})
		}
	}
}

// TestContextOrderMatters checks that the order of components within a role
// is part of the identity: swapping two retrieved documents changes it.
func TestContextOrderMatters(t *testing.T) {
	src := filepath.Join(examplesDir, "rag-agent")
	base := load(t, filepath.Join(src, "runid.yaml"))
	dir := t.TempDir()
	copyTree(t, src, dir)
	decl := filepath.Join(dir, "runid.yaml")
	doc := readDecl(t, decl)
	r := roles(t, doc)
	v, _ := mapGet(r, mediatype.RoleContext)
	list := slices.Clone(v.([]any))
	if len(list) < 2 {
		t.Fatalf("rag-agent has %d context documents, want at least 2", len(list))
	}
	list[0], list[1] = list[1], list[0]
	setField(t, r, mediatype.RoleContext, list)
	writeDecl(t, decl, doc)

	got := load(t, decl)
	if got.Digest() == base.Digest() {
		t.Fatalf("swapping two context documents kept the digest %s", got.Digest())
	}
	// Same components, other order.
	key := func(c pack.Component) string { return c.Name + "@" + c.Digest.String() }
	var a, b []string
	for i := range base.Components {
		a, b = append(a, key(base.Components[i])), append(b, key(got.Components[i]))
	}
	if slices.Equal(a, b) {
		t.Fatal("component order unchanged")
	}
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("components differ beyond their order:\n got %v\nwant %v", b, a)
	}
}

// TestLoadIdentityIsValid checks that every example builds an identity
// that spec.ParseIdentity accepts, with components in canonical role order.
func TestLoadIdentityIsValid(t *testing.T) {
	for _, decl := range exampleDecls(t) {
		t.Run(filepath.Base(filepath.Dir(decl)), func(t *testing.T) {
			c := load(t, decl)
			id, err := spec.ParseIdentity(c.Identity.ManifestBytes, c.Identity.DocumentBytes)
			if err != nil {
				t.Fatalf("ParseIdentity: %v", err)
			}
			if len(id.Document.Components) != len(c.Components) {
				t.Fatalf("%d components in the document, want %d", len(id.Document.Components), len(c.Components))
			}
			for i, comp := range c.Components {
				rc, err := comp.Open()
				data := readAll(t, rc, err)
				if d := digest.FromBytes(data); d != comp.Digest || int64(len(data)) != comp.Size {
					t.Errorf("component %q opens to %s (%d bytes), want %s (%d bytes)", comp.Name, d, len(data), comp.Digest, comp.Size)
				}
				if i > 0 && spec.RoleOrderLess(comp.Role, c.Components[i-1].Role) {
					t.Errorf("component %q (%s) after role %s", comp.Name, comp.Role, c.Components[i-1].Role)
				}
			}
		})
	}
}
