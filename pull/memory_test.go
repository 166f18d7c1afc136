package pull_test

import (
	"bufio"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pull"
)

// TestPullStreamsLargeBlob pulls an identity with a 64 MiB binary
// component and checks that Pull allocates a small, fixed amount however
// large the blob: it streams through fixed buffers and never holds a blob,
// or allocates from its size. (A 1 GiB component behaves the same; this
// size keeps the test short on a shared machine.)
func TestPullStreamsLargeBlob(t *testing.T) {
	const size = 64 << 20
	const budget = 16 << 20 // total allocations allowed during Pull

	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.NewChaCha8([32]byte{'r', 'u', 'n', 'i', 'd'})
	if _, err := io.CopyN(w, rng, size); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile0(t, filepath.Join(dir, "runid.yaml"), `runid: "1"
roles:
  model: {name: m}
  parameters: {t: 1}
  system-prompt: none
  tools: none
  context:
    - {name: data/big.bin, file: big.bin, format: binary}
  input: none
  config: none
  runtime: {r: 1}
`)
	comp, err := packLoad(t, filepath.Join(dir, "runid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	store, _ := testutil.NewLayout(t)
	testutil.Push(t, store, comp, tag)
	var big digest.Digest
	for _, c := range comp.Components {
		if c.Name == "data/big.bin" {
			big = c.Digest
		}
	}

	out := t.TempDir()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rep, err := pull.Pull(t.Context(), store, tag, out, pull.PullOptions{})
	runtime.ReadMemStats(&after)
	if err != nil || !rep.Verified {
		t.Fatalf("pull: %v", err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Pull allocated %d KiB in total", alloc>>10)
	if alloc > budget {
		t.Errorf("Pull allocated %d MiB for a %d MiB blob; want under %d MiB", alloc>>20, size>>20, budget>>20)
	}

	g, err := os.Open(filepath.Join(out, "data", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	h := sha256.New()
	n, err := io.Copy(h, g)
	if err != nil || n != size || digest.NewDigest(digest.SHA256, h) != big {
		t.Errorf("pulled file: %d bytes, %v; want %d bytes with digest %s", n, err, size, big)
	}
}
