package spec_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// vectorSecret returns the withhold secret of a vector case (secret.hex:
// lower-case hex and a newline), or nil when the case has none.
func vectorSecret(t *testing.T, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "secret.hex"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	secret, err := hex.DecodeString(strings.TrimSuffix(string(data), "\n"))
	if err != nil {
		t.Fatalf("secret.hex: %v", err)
	}
	return secret
}

// TestWithheldVector checks spec/vectors/withheld beyond what TestVectors
// does: the reveals in reveals/ are what pack writes, every withheld
// component's commitment document is re-derived here from the scheme of
// SPEC §7.2 with crypto/hmac directly (not with the spec package), each
// reveal opens its commitment on the component's content and on nothing
// else, and the commitments disclose no byte of the content.
func TestWithheldVector(t *testing.T) {
	dir := filepath.Join("vectors", "withheld")
	secret := vectorSecret(t, dir)
	if len(secret) < spec.MinWithholdSecretSize {
		t.Fatalf("secret.hex holds %d bytes", len(secret))
	}
	c, err := pack.Load(t.Context(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{WithholdSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	manifest := readVectorFile(t, dir, "manifest.json")
	if !bytes.Equal(c.Identity.ManifestBytes, manifest) {
		t.Fatal("the vector's manifest is not what pack builds with secret.hex")
	}

	// The reveals are exactly the committed files, and no other file is there.
	out := t.TempDir()
	paths, err := pack.WriteReveals(c, out)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, p := range paths {
		rel, _ := filepath.Rel(out, p)
		want = append(want, filepath.ToSlash(rel))
		if !bytes.Equal(readFile(t, p), readVectorFile(t, dir, filepath.Join("reveals", rel))) {
			t.Errorf("reveals/%s differs from what pack writes", rel)
		}
	}
	err = filepath.WalkDir(filepath.Join(dir, "reveals"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(dir, "reveals"), p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("reveals/ holds %v, want %v", got, want)
	}

	// The content of each withheld component, as the declaration gives it.
	ticket, err := spec.Canonicalize(readVectorFile(t, dir, filepath.Join("files", "ticket.json")))
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string][]byte{
		"system-prompt/support.md": readVectorFile(t, dir, filepath.Join("files", "system.md")),
		"context/eligible.txt":     []byte("yes"),
		"input/ticket.json":        ticket,
	}
	withheld := 0
	for i, entry := range c.Identity.Document.Components {
		if !entry.Withheld() {
			continue
		}
		withheld++
		t.Run(entry.Name, func(t *testing.T) {
			content, ok := contents[entry.Name]
			if !ok {
				t.Fatalf("no content known for withheld component %q", entry.Name)
			}
			var rv spec.Reveal
			if err := json.Unmarshal(readVectorFile(t, dir, filepath.Join("reveals", filepath.FromSlash(entry.Name)+pack.RevealSuffix)), &rv); err != nil {
				t.Fatal(err)
			}
			_, format, _ := mediatype.ParseComponent(rv.MediaType)
			if rv.MediaType != mediatype.Component(entry.Role, format) {
				t.Errorf("reveal media type %q is not a %s media type", rv.MediaType, entry.Role)
			}

			// SPEC §7.2, step by step.
			d := "sha256:" + hex.EncodeToString(sum256(content))
			m := hmac.New(sha256.New, secret)
			m.Write([]byte("runid/v1/withhold-salt\x00" + d))
			salt := m.Sum(nil)
			m = hmac.New(sha256.New, salt)
			m.Write(content)
			doc := []byte(`{"algorithm":"hmac-sha256","commitment":"` + hex.EncodeToString(m.Sum(nil)) + `","mediaType":"` + rv.MediaType + `"}`)

			if rv.ContentDigest.String() != d || rv.Size != int64(len(content)) || rv.Salt != hex.EncodeToString(salt) {
				t.Errorf("reveal %+v does not match the re-derived digest %s, size %d and salt", rv, d, len(content))
			}
			if entry.Digest != digest.FromBytes(doc) || entry.Size != int64(len(doc)) || rv.Commitment != entry.Digest {
				t.Errorf("entry %s (%d bytes), reveal %s; the re-derived commitment document %s is %s (%d bytes)",
					entry.Digest, entry.Size, rv.Commitment, doc, digest.FromBytes(doc), len(doc))
			}
			rc, err := c.Components[i].Open()
			if err != nil {
				t.Fatal(err)
			}
			layer, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(layer, doc) {
				t.Errorf("the layer holds %s, want %s (%v)", layer, doc, err)
			}
			if err := spec.CheckReveal(layer, rv, bytes.NewReader(content)); err != nil {
				t.Errorf("the reveal does not open the commitment: %v", err)
			}
			if err := spec.CheckReveal(layer, rv, bytes.NewReader(append(bytes.Clone(content), ' '))); !errors.Is(err, spec.ErrCommitment) {
				t.Errorf("the reveal opens the commitment on other content: %v", err)
			}
			// Without the salt, the content digest (which anyone could test
			// guesses against) appears nowhere in the identity.
			for name, b := range map[string][]byte{"manifest": manifest, "identity document": c.Identity.DocumentBytes, "commitment": layer} {
				if bytes.Contains(b, []byte(strings.TrimPrefix(d, "sha256:"))) || (len(content) >= 8 && bytes.Contains(b, content)) {
					t.Errorf("the %s discloses the content or its digest", name)
				}
			}
		})
	}
	if withheld != len(contents) || len(c.Reveals) != len(contents) {
		t.Errorf("%d withheld components and %d reveals, want %d", withheld, len(c.Reveals), len(contents))
	}
}

func sum256(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestWithheldVectorSecretFile packs the withheld vector with its secret
// read as runid-oci reads a --withhold-secret-file: secret.bin, the raw
// bytes, gives the vector's digest; secret.hex is text, whose 65 bytes
// are another secret and give another digest (spec/SPEC.md §7.2).
func TestWithheldVectorSecretFile(t *testing.T) {
	dir := filepath.Join("vectors", "withheld")
	want := strings.TrimSpace(string(readVectorFile(t, dir, "digest.txt")))
	for file, same := range map[string]bool{"secret.bin": true, "secret.hex": false} {
		secret, err := pack.ReadWithholdSecret(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if same != bytes.Equal(secret, vectorSecret(t, dir)) {
			t.Errorf("%s read as %x", file, secret)
		}
		c, err := pack.Load(t.Context(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{WithholdSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		if (c.Digest().String() == want) != same {
			t.Errorf("%s gives %s; the vector's digest is %s", file, c.Digest(), want)
		}
	}
}
