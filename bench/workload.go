package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// workload is a generated composition: its directory, its declaration and
// the files in it (relative to dir, as oras push is given them).
type workload struct {
	dir         string
	declaration string
	files       []string
	bytes       int64
}

// newRand returns the workloads' PRNG: ChaCha8 with a seed derived from
// seed and stream, so that every run generates the same bytes.
func newRand(seed uint64, stream byte) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	s[8] = stream
	return rand.NewChaCha8(s)
}

// genLarge writes total bytes of random data in n files of equal size below
// dir/shards, and a declaration that puts them in the context role as
// binary components (the only core role that takes arbitrary bytes).
func genLarge(dir string, total int64, n int, seed uint64) (*workload, error) {
	w := &workload{dir: dir, declaration: filepath.Join(dir, "runid.yaml")}
	if err := os.MkdirAll(filepath.Join(dir, "shards"), 0o755); err != nil {
		return nil, err
	}
	r := newRand(seed, 1)
	per := total / int64(n)
	buf := make([]byte, 1<<20)
	var decl strings.Builder
	decl.WriteString(declHead)
	decl.WriteString("  context:\n")
	for i := range n {
		rel := fmt.Sprintf("shards/shard-%d.bin", i)
		size := per
		if i == n-1 {
			size = total - per*int64(n-1)
		}
		f, err := os.Create(filepath.Join(dir, rel))
		if err != nil {
			return nil, err
		}
		for left := size; left > 0; {
			k := min(left, int64(len(buf)))
			_, _ = r.Read(buf[:k])
			if _, err := f.Write(buf[:k]); err != nil {
				f.Close()
				return nil, err
			}
			left -= k
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		fmt.Fprintf(&decl, "    - { name: context/shard-%d.bin, file: %s }\n", i, rel)
		w.files = append(w.files, rel)
		w.bytes += size
	}
	decl.WriteString(declTail)
	return w, os.WriteFile(w.declaration, []byte(decl.String()), 0o644)
}

// genDocs writes n text documents of size bytes below dir/docs, and a
// declaration that lists each as a context component. The text is random
// lower-case letters and spaces in lines of 72 characters: valid UTF-8,
// hard to compress, and never mistaken for a credential by the scan that
// push runs (no digits, capitals or punctuation).
func genDocs(dir string, n, size int, seed uint64) (*workload, error) {
	w := &workload{dir: dir, declaration: filepath.Join(dir, "runid.yaml")}
	if err := os.MkdirAll(filepath.Join(dir, "docs"), 0o755); err != nil {
		return nil, err
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz "
	r := newRand(seed, 2)
	text := make([]byte, size)
	var decl strings.Builder
	decl.WriteString(declHead)
	decl.WriteString("  context:\n")
	for i := range n {
		rel := fmt.Sprintf("docs/doc-%05d.txt", i)
		_, _ = r.Read(text)
		for j, b := range text {
			text[j] = alphabet[int(b)%len(alphabet)]
			if j%73 == 72 {
				text[j] = '\n'
			}
		}
		if err := os.WriteFile(filepath.Join(dir, rel), text, 0o644); err != nil {
			return nil, err
		}
		fmt.Fprintf(&decl, "    - { name: context/doc-%05d.txt, file: %s }\n", i, rel)
		w.files = append(w.files, rel)
		w.bytes += int64(size)
	}
	decl.WriteString(declTail)
	return w, os.WriteFile(w.declaration, []byte(decl.String()), 0o644)
}

// The rest of a benchmark declaration: every other core role accounted for.
const (
	declHead = `runid: "1"
roles:
  model: { provider: bench, name: none }
  parameters: { temperature: 0 }
  system-prompt: none
  tools: none
`
	declTail = `  input:
    - { name: input/prompt.txt, text: "benchmark" }
  config: none
  runtime: { harness: { name: runid-oci-bench } }
`
)
