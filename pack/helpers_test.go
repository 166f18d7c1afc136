package pack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
)

// examplesDir is where the example declarations live.
const examplesDir = "../testdata/examples"

// copyTree copies the regular files below src to dst, creating dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

// writeFile writes data to path, creating its parent directories.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readDecl parses a declaration into ordered YAML maps, so that a test can
// edit it and write it back with writeDecl.
func readDecl(t testing.TB, path string) yaml.MapSlice {
	t.Helper()
	var doc yaml.MapSlice
	if err := yaml.UnmarshalWithOptions(testutil.ReadFile(t, path), &doc, yaml.UseOrderedMap()); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return doc
}

// writeDecl writes an ordered declaration as YAML.
func writeDecl(t testing.TB, path string, doc yaml.MapSlice) {
	t.Helper()
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatalf("marshal declaration: %v", err)
	}
	writeFile(t, path, data)
}

// mapGet returns the value of key in m, and whether it is there.
func mapGet(m yaml.MapSlice, key string) (any, bool) {
	for _, it := range m {
		if it.Key == key {
			return it.Value, true
		}
	}
	return nil, false
}

// roles returns the roles map of a declaration.
func roles(t testing.TB, doc yaml.MapSlice) yaml.MapSlice {
	t.Helper()
	v, ok := mapGet(doc, "roles")
	if !ok {
		t.Fatal("declaration has no roles")
	}
	m, ok := v.(yaml.MapSlice)
	if !ok {
		t.Fatalf("roles is %T, want a map", v)
	}
	return m
}

// setRoles replaces the roles map of a declaration.
func setRoles(doc yaml.MapSlice, r yaml.MapSlice) {
	for i := range doc {
		if doc[i].Key == "roles" {
			doc[i].Value = r
		}
	}
}

// componentItem finds the declared component named name: its role and its
// map (nil for a role written as one inline map, the shorthand).
func componentItem(t testing.TB, doc yaml.MapSlice, name string) (role string, item yaml.MapSlice) {
	t.Helper()
	for _, r := range roles(t, doc) {
		switch v := r.Value.(type) {
		case yaml.MapSlice:
			if name == r.Key.(string)+".json" {
				return r.Key.(string), nil
			}
		case []any:
			for _, c := range v {
				m := c.(yaml.MapSlice)
				if n, _ := mapGet(m, "name"); n == name {
					return r.Key.(string), m
				}
			}
		}
	}
	t.Fatalf("no component %q in the declaration", name)
	return "", nil
}

// setField sets key in m (which must already hold it).
func setField(t testing.TB, m yaml.MapSlice, key string, v any) {
	t.Helper()
	for i := range m {
		if m[i].Key == key {
			m[i].Value = v
			return
		}
	}
	t.Fatalf("no field %q", key)
}

// changeFirstLeaf changes the first string, number or boolean leaf of v (in
// document order): the case of a string's first ASCII letter, the lowest
// bit of an integer (one decimal digit), a float plus one, a boolean
// negated. It reports whether it found a leaf to change.
func changeFirstLeaf(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		if i := strings.IndexFunc(x, isASCIILetter); i >= 0 {
			return x[:i] + string(rune(x[i]^0x20)) + x[i+1:], true
		}
	case uint64:
		return x ^ 1, true
	case int64:
		return x ^ 1, true
	case float64:
		return x + 1, true
	case bool:
		return !x, true
	case yaml.MapSlice:
		for i := range x {
			if nv, ok := changeFirstLeaf(x[i].Value); ok {
				x[i].Value = nv
				return x, true
			}
		}
	case []any:
		for i := range x {
			if nv, ok := changeFirstLeaf(x[i]); ok {
				x[i] = nv
				return x, true
			}
		}
	}
	return v, false
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// toggleJSONStringLetter changes the case of the first ASCII letter inside
// a JSON string (not after a backslash), so the result is still valid JSON
// that differs from data in exactly one byte.
func toggleJSONStringLetter(t testing.TB, data []byte) []byte {
	t.Helper()
	out := bytes.Clone(data)
	in, esc := false, false
	for i, c := range out {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in && isASCIILetter(rune(c)):
			out[i] ^= 0x20
			return out
		}
	}
	t.Fatal("no letter inside a JSON string")
	return nil
}

// toggleLastLetter changes the case of the last ASCII letter of data.
func toggleLastLetter(t testing.TB, data []byte) []byte {
	t.Helper()
	out := bytes.Clone(data)
	for i := len(out) - 1; i >= 0; i-- {
		if isASCIILetter(rune(out[i])) {
			out[i] ^= 0x20
			return out
		}
	}
	t.Fatal("no ASCII letter")
	return nil
}

// reformatJSON re-encodes a JSON text with every object's keys in reverse
// order, tab indentation, extra spaces and no HTML escaping, keeping numbers
// as written. The RFC 8785 form of the result equals that of data.
func reformatJSON(t testing.TB, data []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("reformat: %v", err)
	}
	var b bytes.Buffer
	b.WriteString("\n\n")
	writeReordered(&b, v, "")
	b.WriteString("\n\t\n")
	return b.Bytes()
}

func writeReordered(b *bytes.Buffer, v any, indent string) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(keys)))
		b.WriteString("{ \n")
		for i, k := range keys {
			b.WriteString(indent + "\t")
			writeString(b, k)
			b.WriteString("  :   ")
			writeReordered(b, x[k], indent+"\t")
			if i < len(keys)-1 {
				b.WriteString(" ,")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case []any:
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(",\r\n" + indent + "  ")
			}
			writeReordered(b, e, indent+"  ")
		}
		b.WriteString("  ]")
	case string:
		writeString(b, x)
	case json.Number:
		b.WriteString(x.String())
	default:
		out, _ := json.Marshal(x)
		b.Write(out)
	}
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // the encoder's newline
}

// load loads a declaration or fails the test.
func load(t testing.TB, path string) *pack.Composition {
	t.Helper()
	return testutil.Load(t, path)
}

// layoutBlobs lists the digests of the blobs stored in an OCI layout.
func layoutBlobs(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dir, ocispec.ImageBlobsDir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, strings.Replace(filepath.ToSlash(rel), "/", ":", 1))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// layoutIndex returns the manifests listed in an OCI layout's index.json
// (none when the file does not exist yet).
func layoutIndex(t testing.TB, dir string) []ocispec.Descriptor {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ocispec.ImageIndexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	return idx.Manifests
}

// assertLayoutEmpty fails unless the layout has no index entry and no blob.
func assertLayoutEmpty(t testing.TB, dir string) {
	t.Helper()
	if m := layoutIndex(t, dir); len(m) != 0 {
		t.Errorf("layout index lists %d manifests, want none: %v", len(m), m)
	}
	if b := layoutBlobs(t, dir); len(b) != 0 {
		t.Errorf("layout holds %d blobs, want none: %v", len(b), b)
	}
}

// readAll drains and closes rc.
func readAll(t testing.TB, rc io.ReadCloser, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// distinctBlobs returns the distinct blobs of a composition: the identity
// document and every component, each digest once, and their total size.
func distinctBlobs(c *pack.Composition) (n int, size int64) {
	seen := map[string]bool{}
	add := func(d ocispec.Descriptor) {
		if !seen[d.Digest.String()] {
			seen[d.Digest.String()] = true
			n++
			size += d.Size
		}
	}
	add(c.Identity.ConfigDescriptor())
	for _, comp := range c.Components {
		add(comp.Descriptor())
	}
	return n, size
}
