package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/internal/testregistry"
)

// TestPush pushes a few files with both upload forms to both kinds of
// registry and reads the manifest and every blob back.
func TestPush(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 20 {
		f := filepath.Join(dir, fmt.Sprintf("doc-%02d.txt", i))
		if err := os.WriteFile(f, []byte(fmt.Sprintf("document %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for _, c := range []struct {
		name   string
		start  func(testing.TB) *testregistry.Registry
		single bool
	}{
		{"distribution", testregistry.StartDistribution, false},
		{"ggcr", testregistry.StartGGCR, false},
		{"ggcr single POST", testregistry.StartGGCR, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := c.start(t)
			d, err := push(t.Context(), options{registry: reg.Host, repo: "bare", tag: "v1", single: c.single, concurrency: 4}, files)
			if err != nil {
				t.Fatal(err)
			}
			repo := testregistry.Repository(t, reg, "bare")
			desc, rc, err := repo.FetchReference(t.Context(), "v1")
			if err != nil {
				t.Fatal(err)
			}
			b, err := content.ReadAll(rc, desc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if desc.Digest != d {
				t.Errorf("tag v1 is %s, push returned %s", desc.Digest, d)
			}
			m, err := parseManifest(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Layers) != len(files) {
				t.Fatalf("manifest has %d layers, want %d", len(m.Layers), len(files))
			}
			for i, l := range m.Layers {
				want, _ := os.ReadFile(files[i])
				if l.Digest != digest.FromBytes(want) {
					t.Errorf("layer %d is %s, want the digest of %s", i, l.Digest, files[i])
				}
				rc, err := repo.Blobs().Fetch(t.Context(), l)
				if err != nil {
					t.Fatalf("blob %d: %v", i, err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || string(got) != string(want) {
					t.Errorf("blob %d holds %q (%v), want %q", i, got, err, want)
				}
			}
		})
	}
}

func TestPushRefusesNonRegularFile(t *testing.T) {
	reg := testregistry.StartGGCR(t)
	if _, err := push(t.Context(), options{registry: reg.Host, repo: "bare", tag: "v1", concurrency: 1}, []string{t.TempDir()}); err == nil {
		t.Fatal("pushed a directory")
	}
}

func parseManifest(b []byte) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	return m, json.Unmarshal(b, &m)
}
