package pack_test

import (
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/memory"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack"
)

// eventLog collects progress events from any goroutine.
type eventLog struct {
	mu     sync.Mutex
	events []pack.Event
}

func (l *eventLog) add(e pack.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// bytesOf returns the Bytes of the events of kind about name (or, for an
// empty name, about the blob of size n), in order.
func (l *eventLog) bytesOf(kind pack.EventKind, name string, n int64) []int64 {
	var out []int64
	for _, e := range l.events {
		if e.Kind == kind && (name != "" && e.Name == name || name == "" && e.Descriptor.Size == n) {
			out = append(out, e.Bytes)
		}
	}
	return out
}

// checkCounts fails unless counts rise and end at want.
func checkCounts(t *testing.T, what string, counts []int64, want int64) {
	t.Helper()
	if len(counts) == 0 {
		t.Fatalf("%s: no byte events", what)
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] <= counts[i-1] {
			t.Fatalf("%s: byte counts do not rise: %v", what, counts)
		}
	}
	if last := counts[len(counts)-1]; last != want {
		t.Fatalf("%s: last byte count %d, want %d", what, last, want)
	}
}

// TestProgressBytes: hashing, pushing (to a layout-like store and to a
// registry) and copying a multi-MiB component report rising byte counts
// that end at its size; with no hook nothing is counted and all works.
func TestProgressBytes(t *testing.T) {
	const size = 3<<20 + 123
	dir := t.TempDir()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "corpus.bin"), data)
	decl := filepath.Join(dir, "runid.yaml")
	writeFile(t, decl, []byte(`runid: "1"
roles:
  model: { provider: openai, name: gpt-4o-mini }
  parameters: { temperature: 0 }
  system-prompt: none
  tools: none
  context:
    - name: context/corpus.bin
      file: corpus.bin
  input:
    - name: input/q.txt
      text: "What is in the corpus?"
  config: none
  runtime: { harness: { name: test } }
`))

	var hashed eventLog
	comp, err := pack.Load(t.Context(), decl, pack.BuildOptions{Progress: hashed.add})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, "hashing", hashed.bytesOf(pack.EventFileHashing, "context/corpus.bin", 0), size)
	for _, e := range hashed.events {
		if e.Kind == pack.EventFileHashing && e.Descriptor.Size != size {
			t.Fatalf("hashing event has size %d, want the file's %d", e.Descriptor.Size, size)
		}
	}
	plain, err := pack.Load(t.Context(), decl, pack.BuildOptions{})
	if err != nil || plain.Digest() != comp.Digest() {
		t.Fatalf("load without a hook: %v, digest %s, want %s", err, plain.Digest(), comp.Digest())
	}

	reg := testregistry.StartDistribution(t)
	mem := memory.New()
	for name, target := range map[string]oras.Target{"memory": mem, "distribution": testregistry.Repository(t, reg, "runs/progress")} {
		var pushed eventLog
		if _, err := pack.Push(t.Context(), target, comp, pack.PushOptions{Tag: "v1", Progress: pushed.add}); err != nil {
			t.Fatalf("%s: push: %v", name, err)
		}
		checkCounts(t, name+": push", pushed.bytesOf(pack.EventBlobBytes, "context/corpus.bin", 0), size)
	}

	var copied eventLog
	if _, err := pack.Copy(t.Context(), mem, "v1", memory.New(), "v1", pack.CopyOptions{Progress: copied.add}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, "copy", copied.bytesOf(pack.EventBlobBytes, "", size), size)
	var started, ended bool
	for _, e := range copied.events {
		started = started || e.Kind == pack.EventBlobUploading && e.Descriptor.Size == size
		ended = ended || e.Kind == pack.EventBlobUploaded && e.Descriptor.Size == size
	}
	if !started || !ended {
		t.Fatalf("copy: start %v, end %v events for the component's blob", started, ended)
	}
}
