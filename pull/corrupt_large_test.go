package pull_test

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

// TestPullCorruptLargeBlob serves a blob of several copy buffers with one
// byte changed in its middle: Pull fails the blob-digest check of that
// component, the directory it would have created does not exist
// afterwards, and the same identity pulled from the registry itself
// writes the component's bytes. The identity is pushed with pack.Push, so
// on go-containerregistry its small blobs went up in single POSTs.
func TestPullCorruptLargeBlob(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), (3<<20+12345)/16)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	decl := `runid: "1"
roles:
  model: { provider: example, name: m }
  parameters: none
  system-prompt: none
  tools: none
  context:
    - { name: context/big.bin, file: data/big.bin }
  input:
    - { name: input/prompt.txt, text: "hello" }
  config: none
  runtime: none
`
	if err := os.WriteFile(filepath.Join(dir, "runid.yaml"), []byte(decl), 0o644); err != nil {
		t.Fatal(err)
	}
	comp, err := packLoad(t, filepath.Join(dir, "runid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var bigDesc pack.Component
	for _, c := range comp.Components {
		if c.Name == "context/big.bin" {
			bigDesc = c
		}
	}
	for _, reg := range registries {
		t.Run(reg.Name, func(t *testing.T) {
			ctx := t.Context()
			faulty, clean := startFaulty(t, reg.Handler(t), func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				if !isBlobGet(r, bigDesc.Digest) {
					return false
				}
				rec := record(next, r)
				body := bytes.Clone(rec.Body.Bytes())
				body[len(body)/2] ^= 0x01
				replay(w, rec, body, false)
				return true
			})
			if _, err := pack.Push(ctx, clean, comp, pack.PushOptions{Tag: tag}); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			rep, err := pull.Pull(ctx, faulty, tag, out, pull.PullOptions{})
			ve := testutil.WantVerificationError(t, err, "blob-digest")
			for _, p := range ve.Problems {
				if p.Check == "blob-digest" && p.Subject != "context/big.bin" {
					t.Errorf("blob-digest failed for %q, want context/big.bin", p.Subject)
				}
			}
			wantFailedChecks(t, rep, "blob-digest")
			if _, err := os.Lstat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the directory of a failed pull exists: %v", err)
			}

			good := filepath.Join(t.TempDir(), "good")
			if _, err := pull.Pull(ctx, clean, tag, good, pull.PullOptions{}); err != nil {
				t.Fatalf("pull from the registry itself: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(good, "context", "big.bin"))
			if err != nil || !bytes.Equal(got, big) {
				t.Fatalf("pulled context/big.bin: %v, equal %v", err, bytes.Equal(got, big))
			}
		})
	}
}
