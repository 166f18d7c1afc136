package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/mediatype"
)

func TestPush(t *testing.T) {
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			for _, ex := range examples {
				t.Run(ex, func(t *testing.T) {
					decl := exampleDecl(ex)
					want := strings.TrimSpace(mustRun(t, 0, "digest", decl).stdout)
					target := st.ref(ex, "v1")

					// Text: the digest alone, equal to what digest computes.
					r := mustRun(t, 0, args("push", st.flags, target, decl)...)
					if got := strings.TrimSpace(r.stdout); got != want {
						t.Fatalf("push printed %q, digest printed %q", got, want)
					}
					if r.stderr != "" {
						t.Errorf("stderr is not a terminal but got %q", r.stderr)
					}

					// The tag resolves to the identity in the store.
					desc, err := st.open(t, ex).Resolve(t.Context(), "v1")
					if err != nil {
						t.Fatalf("resolve tag in store: %v", err)
					}
					if desc.Digest.String() != want {
						t.Errorf("tag v1 resolves to %s, want %s", desc.Digest, want)
					}

					// JSON, pushed again: everything already there.
					j := decodeJSON[pushResult](t, mustRun(t, 0, args("push", append([]string{"-o", "json"}, st.flags...), target, decl)...).stdout)
					wantRef := target + "@" + want
					if st.name == "oci-layout" {
						wantRef = target
					}
					checks := []struct {
						field     string
						got, want any
					}{
						{"digest", j.Digest.String(), want},
						{"reference", j.Reference, wantRef},
						{"mediaType", j.MediaType, ocispec.MediaTypeImageManifest},
						{"artifactType", j.ArtifactType, mediatype.Identity},
						{"size", j.Size, desc.Size},
						{"tag", j.Tag, "v1"},
						{"blobsUploaded", j.BlobsUploaded, 0},
						{"bytesUploaded", j.BytesUploaded, int64(0)},
					}
					for _, c := range checks {
						if c.got != c.want {
							t.Errorf("json %s = %v, want %v", c.field, c.got, c.want)
						}
					}
					if j.BlobsSkipped == 0 {
						t.Errorf("json blobsSkipped = 0 on a second push")
					}
				})
			}
		})
	}
}

// TestPushFirstUpload checks the upload counters and a push by digest.
func TestPushFirstUpload(t *testing.T) {
	decl := exampleDecl("minimal")
	want := packDigest(t, decl)
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			j := decodeJSON[pushResult](t, mustRun(t, 0, args("push", append(st.flags, "-o", "json"), st.ref("runs", ""), decl)...).stdout)
			if j.BlobsUploaded == 0 || j.BytesUploaded == 0 || j.BlobsSkipped != 0 {
				t.Errorf("first push: uploaded %d blobs (%d bytes), skipped %d", j.BlobsUploaded, j.BytesUploaded, j.BlobsSkipped)
			}
			if j.Tag != "" || j.Reference != st.ref("runs", want) {
				t.Errorf("untagged push: tag %q reference %q, want no tag and %q", j.Tag, j.Reference, st.ref("runs", want))
			}
			// A digest reference equal to the identity is accepted.
			r := mustRun(t, 0, args("push", st.flags, st.ref("runs", want), decl)...)
			if strings.TrimSpace(r.stdout) != want {
				t.Errorf("push by digest printed %q, want %q", r.stdout, want)
			}
		})
	}
}

func TestPushErrors(t *testing.T) {
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	decl := exampleDecl("minimal")
	other := "sha256:" + strings.Repeat("0", 64)
	runFailures(t, []failCase{
		{"no arguments", []string{"push"}, exitUsage, "TARGET DECLARATION"},
		{"one argument", []string{"push", "--oci-layout", layout}, exitUsage, "TARGET DECLARATION"},
		{"three arguments", []string{"push", "--oci-layout", layout, decl, decl}, exitUsage, "TARGET DECLARATION"},
		{"unknown flag", []string{"push", "--bogus", layout, decl}, exitUsage, "--bogus"},
		{"bad output format", []string{"push", "-o", "yaml", "--oci-layout", layout, decl}, exitUsage, "yaml"},
		{"other digest", []string{"push", "--oci-layout", layout + "@" + other, decl}, exitUsage, other},
		{"invalid reference", []string{"push", "Not A Reference", decl}, exitUsage, "Not A Reference"},
		{"missing declaration", []string{"push", "--oci-layout", layout, filepath.Join(dir, "nope.yaml")}, exitError, "nope.yaml"},
		{"unreachable registry", []string{"push", "127.0.0.1:1/runs:v1", decl}, exitError, "127.0.0.1:1"},
		{"unreachable registry, plain HTTP", []string{"push", "--plain-http", "127.0.0.1:1/runs:v1", decl}, exitError, "127.0.0.1:1"},
	})
}

// TestBadDeclarations pushes every bad declaration: each fails with exit 1,
// a message naming the file or the field, and nothing pushed.
func TestBadDeclarations(t *testing.T) {
	badDir := filepath.Join("..", "..", "testdata", "declarations", "bad")
	entries, err := os.ReadDir(badDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("no bad declarations in %s", badDir)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			decl := filepath.Join(badDir, e.Name())
			if e.IsDir() {
				decl = filepath.Join(decl, "runid.yaml")
			}
			layout := filepath.Join(t.TempDir(), "layout")
			for _, cmd := range [][]string{{"digest", decl}, {"push", "--oci-layout", layout + ":v1", decl}} {
				r := mustRun(t, exitError, cmd...)
				if !strings.Contains(r.stderr, decl) && !strings.Contains(r.stderr, "roles.") {
					t.Errorf("%s: stderr names neither the file nor a field:\n%s", cmd[0], r.stderr)
				}
				if r.stdout != "" {
					t.Errorf("%s: stdout not empty: %q", cmd[0], r.stdout)
				}
			}
			if _, err := os.Stat(layout); !os.IsNotExist(err) {
				t.Errorf("layout %s exists after a failed push (err %v)", layout, err)
			}
		})
	}
}
