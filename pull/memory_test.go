package pull_test

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/opencontainers/go-digest"

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

	store, comp := pushBigComponent(t, size, [32]byte{'r', 'u', 'n', 'i', 'd'})
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
