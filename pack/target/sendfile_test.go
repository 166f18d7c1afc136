package target

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// tempFile writes b to a new file and returns it open for reading.
func tempFile(t *testing.T, b []byte) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestProgressConnSendsFileInChunks: a file under the io.LimitedReader
// net/http puts around a body goes out whole, exactly its limit, with
// progress reported after every chunk.
func TestProgressConnSendsFileInChunks(t *testing.T) {
	data := make([]byte, 3*sendChunk+12345)
	rand.Read(data)
	f := tempFile(t, append(data, "not sent"...))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		got <- b
	}()
	c, err := dialProgress((&net.Dialer{}).DialContext)(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	pc, ok := c.(*progressConn)
	if !ok {
		t.Fatalf("dialProgress made a %T", c)
	}
	var calls int
	report := func() { calls++ }
	pc.progress.Store(&report)
	n, err := io.Copy(pc, &io.LimitedReader{R: f, N: int64(len(data))})
	if err != nil || n != int64(len(data)) {
		t.Fatalf("sent %d bytes, %v; want %d", n, err, len(data))
	}
	pc.Close()
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("received %d bytes, not the %d sent", len(b), len(data))
	}
	if calls != 4 {
		t.Errorf("progress reported %d times, want 4 (one per chunk of %d bytes)", calls, sendChunk)
	}
}

// slowRegistry takes blob uploads (POST, then PUT), reading the PUT's body
// 256 KiB at a time at no more than rate bytes a second (a reader held up
// catches up at once), checks its digest, and records the digest and size
// of what it stored.
func slowRegistry(t *testing.T, rate float64) (host string, stored *atomic.Pointer[ocispec.Descriptor]) {
	t.Helper()
	stored = new(atomic.Pointer[ocispec.Descriptor])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/"):
			w.Header().Set("Location", "/v2/runs/blobs/uploads/session-1")
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPut:
			d := digest.Canonical.Digester()
			start := time.Now()
			var size int64
			for {
				n, err := io.CopyN(d.Hash(), r.Body, 256<<10)
				size += n
				if err != nil || n == 0 {
					break
				}
				time.Sleep(time.Until(start.Add(time.Duration(float64(size) / rate * float64(time.Second)))))
			}
			if d.Digest().String() != r.URL.Query().Get("digest") {
				http.Error(w, "digest mismatch", http.StatusBadRequest)
				return
			}
			stored.Store(&ocispec.Descriptor{Digest: d.Digest(), Size: size})
			w.Header().Set("Location", "/v2/runs/blobs/"+d.Digest().String())
			w.WriteHeader(http.StatusCreated)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), stored
}

// TestSlowFileUploadKeepsGoing: a file body goes to net/http as it is
// (sent with sendfile(2) on Linux); the connection's progress keeps the
// idle timer from firing while a slow registry takes the bytes, for an
// upload that lasts many idle timeouts.
func TestSlowFileUploadKeepsGoing(t *testing.T) {
	// 8 MB/s: the sender sees progress each time the registry has drained
	// enough of the socket buffers to wake it (a few MiB on loopback), a few
	// times a second, and the 24 MiB take 3 s, three idle timeouts.
	host, stored := slowRegistry(t, 8<<20)
	data := make([]byte, 24<<20)
	rand.Read(data)
	f := tempFile(t, data)
	tg, err := Open(t.Context(), host+"/runs", false, Options{PlainHTTP: true, RegistryConfig: t.TempDir() + "/none.json", IdleTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := tg.Writable()
	desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(data), Size: int64(len(data))}
	start := time.Now()
	if err := w.Push(t.Context(), desc, f); err != nil {
		t.Fatalf("push: %v", err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("the upload took %s: the registry read too fast to outlast the idle timeout", d)
	}
	if got := stored.Load(); got == nil || got.Digest != desc.Digest || got.Size != desc.Size {
		t.Errorf("the registry stored %v, want the file's %s (%d bytes)", got, desc.Digest, desc.Size)
	}
}

// TestStalledFileUploadFails: a registry that takes no byte of a file
// body fails the upload after the idle timeout, as for any body.
func TestStalledFileUploadFails(t *testing.T) {
	w, puts := stalledPUTTarget(t, false)
	const size = 64 << 20 // far more than the socket buffers hold
	p := filepath.Join(t.TempDir(), "sparse")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString("x"), Size: size}
	if se := pushStalls(t, w, desc, f, puts); se.What != "request body" {
		t.Errorf("stalled on the %s, want the request body", se.What)
	}
}
