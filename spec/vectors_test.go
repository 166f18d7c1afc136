package spec_test

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// vectorCases are the cases spec/vectors must hold; a case may be added
// without listing it here, but none of these may disappear.
var vectorCases = []string{
	"all-none", "binary", "duplicate-content", "empty-text", "extension-role",
	"json-canonicalization", "local-weights", "minimal", "rag-agent", "unicode",
	"withheld",
}

// TestVectors re-derives every test vector from its declaration and
// component files: the manifest, the identity document and the digest must
// equal the committed files byte for byte, wherever the inputs are and
// whatever their times and modes.
func TestVectors(t *testing.T) {
	decls, err := filepath.Glob(filepath.Join("vectors", "*", "runid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, d := range decls {
		found = append(found, filepath.Base(filepath.Dir(d)))
	}
	for _, c := range vectorCases {
		if !slices.Contains(found, c) {
			t.Errorf("vector case %q is missing from spec/vectors", c)
		}
	}
	for _, decl := range decls {
		dir := filepath.Dir(decl)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			manifest := readVectorFile(t, dir, "manifest.json")
			document := readVectorFile(t, dir, "identity.json")
			digestText := string(readVectorFile(t, dir, "digest.txt"))

			// The committed files agree with each other.
			want, err := digest.Parse(strings.TrimSuffix(digestText, "\n"))
			if err != nil || !strings.HasSuffix(digestText, "\n") || strings.Count(digestText, "\n") != 1 {
				t.Fatalf("digest.txt = %q: want one sha256 digest and a newline (%v)", digestText, err)
			}
			if got := digest.FromBytes(manifest); got != want {
				t.Fatalf("digest.txt says %s, manifest.json hashes to %s", want, got)
			}
			id, err := spec.ParseIdentity(manifest, document)
			if err != nil {
				t.Fatalf("ParseIdentity rejects the vector: %v", err)
			}

			// The packer derives exactly them, in place and from a copy
			// elsewhere with other times and modes.
			copyDir := filepath.Join(t.TempDir(), "elsewhere")
			copyVector(t, dir, copyDir)
			// A case with withheld components has its owner's secret in
			// secret.hex (see withheld_vectors_test.go for its reveals).
			opts := pack.BuildOptions{WithholdSecret: vectorSecret(t, dir)}
			for _, path := range []string{decl, filepath.Join(copyDir, "runid.yaml")} {
				c, err := pack.Load(t.Context(), path, opts)
				if err != nil {
					t.Fatalf("load %s: %v", path, err)
				}
				if !bytes.Equal(c.Identity.ManifestBytes, manifest) {
					t.Errorf("%s: manifest differs from manifest.json:\n got %s\nwant %s", path, c.Identity.ManifestBytes, manifest)
				}
				if !bytes.Equal(c.Identity.DocumentBytes, document) {
					t.Errorf("%s: identity document differs from identity.json:\n got %s\nwant %s", path, c.Identity.DocumentBytes, document)
				}
				if c.Digest() != want {
					t.Errorf("%s: digest %s, digest.txt says %s", path, c.Digest(), want)
				}
				// Every component's bytes hash to what its layer says.
				for i, comp := range c.Components {
					rc, err := comp.Open()
					if err != nil {
						t.Fatal(err)
					}
					data, err := io.ReadAll(rc)
					rc.Close()
					if err != nil {
						t.Fatal(err)
					}
					l := id.Manifest.Layers[i]
					if digest.FromBytes(data) != l.Digest || int64(len(data)) != l.Size {
						t.Errorf("component %q: %d bytes hashing to %s, layer %d says %s (%d bytes)",
							comp.Name, len(data), digest.FromBytes(data), i, l.Digest, l.Size)
					}
					if _, format, _ := mediatype.ParseComponent(l.MediaType); format == mediatype.FormatJSON {
						canon, err := spec.Canonicalize(data)
						if err != nil || !bytes.Equal(canon, data) {
							t.Errorf("component %q: json layer is not in canonical form (%v)", comp.Name, err)
						}
					}
				}
			}

			// The manifest and the document are canonical JSON themselves.
			for name, data := range map[string][]byte{"manifest.json": manifest, "identity.json": document} {
				canon, err := spec.Canonicalize(data)
				if err != nil || !bytes.Equal(canon, data) {
					t.Errorf("%s is not RFC 8785 canonical JSON (%v)", name, err)
				}
			}
		})
	}
}

func readVectorFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("%v (generate it with: go run ./internal/vectorgen)", err)
	}
	return data
}

// copyVector copies a vector's files to dst, giving each another
// modification time and mode.
func copyVector(t *testing.T, src, dst string) {
	t.Helper()
	i := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		i++
		if err := os.WriteFile(target, data, 0o600|fs.FileMode(i%2)*0o100); err != nil {
			return err
		}
		when := time.Unix(int64(i)*86400, 0)
		return os.Chtimes(target, when, when)
	})
	if err != nil {
		t.Fatal(err)
	}
}
