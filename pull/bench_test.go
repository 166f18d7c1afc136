package pull_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/memory"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

// benchShapes are the identities the read-side benchmarks verify and pull:
// a few large binary components (throughput: hashing and writing) and many
// small text ones (per-blob overhead). They mirror the workloads of
// go run ./bench at a size that fits a benchmark iteration.
var benchShapes = []struct {
	name  string
	files int
	size  int
	ext   string
}{
	{"8x8MiB", 8, 8 << 20, "bin"},
	{"10000x1KiB", 10000, 1 << 10, "txt"},
}

// benchIdentity writes files random files of size bytes (lower-case text
// for .txt), declares them as context components, and pushes the identity
// to an in-memory store, tagged "bench". It returns the store, the tag and
// the total component bytes.
func benchIdentity(b *testing.B, files, size int, ext string) (oras.ReadOnlyTarget, string, int64) {
	b.Helper()
	dir := b.TempDir()
	r := rand.NewChaCha8([32]byte{8})
	data := make([]byte, size)
	var decl strings.Builder
	decl.WriteString("runid: \"1\"\nroles:\n  model: none\n  parameters: none\n  system-prompt: none\n  tools: none\n  context:\n")
	for i := range files {
		_, _ = r.Read(data)
		if ext == "txt" {
			for j, c := range data {
				data[j] = 'a' + c%26
			}
		}
		name := fmt.Sprintf("f%05d.%s", i, ext)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&decl, "    - { name: context/%s, file: %s }\n", name, name)
	}
	decl.WriteString("  input: none\n  config: none\n  runtime: none\n")
	path := filepath.Join(dir, "runid.yaml")
	if err := os.WriteFile(path, []byte(decl.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	comp, err := pack.Load(b.Context(), path, pack.BuildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	store := memory.New()
	if _, err := pack.Push(b.Context(), store, comp, pack.PushOptions{Tag: "bench"}); err != nil {
		b.Fatal(err)
	}
	return store, "bench", int64(files) * int64(size)
}

// BenchmarkVerify verifies a whole identity read from an in-memory store:
// manifest, identity document and every blob streamed through the
// verifying reader.
func BenchmarkVerify(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			store, ref, total := benchIdentity(b, s.files, s.size, s.ext)
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				rep, err := pull.Verify(b.Context(), store, ref, pull.VerifyOptions{})
				if err != nil || !rep.Verified {
					b.Fatalf("verify: %v", err)
				}
			}
		})
	}
}

// BenchmarkPull verifies an identity and writes every component into a
// fresh directory (removed, untimed, after each iteration), flushed to
// disk (the default) or not (NoSync).
func BenchmarkPull(b *testing.B) {
	for _, s := range benchShapes {
		for _, noSync := range []bool{false, true} {
			name := s.name + "/flushed"
			if noSync {
				name = s.name + "/no-sync"
			}
			b.Run(name, func(b *testing.B) {
				store, ref, total := benchIdentity(b, s.files, s.size, s.ext)
				dir := filepath.Join(b.TempDir(), "out")
				b.SetBytes(total)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := pull.Pull(b.Context(), store, ref, dir, pull.PullOptions{NoSync: noSync}); err != nil {
						b.Fatalf("pull: %v", err)
					}
					b.StopTimer()
					if err := os.RemoveAll(dir); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	}
}
