package target

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack"
)

// transportWriteBuffer is the size of net/http's write buffer of a
// connection (Transport.WriteBufferSize, default): a request larger than
// that is written in several writes whatever its body.
const transportWriteBuffer = 4 << 10

// writeLog records the writes of the client's connections: how many
// single-POST uploads began, and how many of those that fit in the
// transport's write buffer were written in more than one write (the
// headers flushed in a write of their own, then the body).
type writeLog struct {
	mu           sync.Mutex
	uploads      int
	continuation int
}

type loggedConn struct {
	net.Conn
	log      *writeLog
	inUpload bool // the last request begun on this connection is a single-POST upload
	first    int  // the length of its first write
}

var requestMethods = [][]byte{[]byte("GET "), []byte("HEAD "), []byte("POST "), []byte("PUT "), []byte("PATCH "), []byte("DELETE ")}

func (c *loggedConn) Write(p []byte) (int, error) {
	start := false
	for _, m := range requestMethods {
		if bytes.HasPrefix(p, m) {
			start = true
			break
		}
	}
	line, _, _ := bytes.Cut(p, []byte("\r\n"))
	c.log.mu.Lock()
	switch {
	case start:
		c.inUpload = bytes.HasPrefix(line, []byte("POST ")) && bytes.Contains(line, []byte("/blobs/uploads/?digest="))
		c.first = len(p)
		if c.inUpload {
			c.log.uploads++
		}
	case c.inUpload && c.first < transportWriteBuffer:
		c.log.continuation++
	}
	c.log.mu.Unlock()
	return c.Conn.Write(p)
}

// TestSmallUploadsOneWrite pushes small components to both registries
// through the client Open makes, and looks at what it writes on its
// connections: a single-POST upload of a small blob (every blob on
// go-containerregistry; the one that finds out that Distribution does not
// take them) goes out, headers and body, in one write, not its headers
// first and then its body. The timeout transport hands such a body to
// net/http as it is, a bytes.Reader that net/http sends with the headers.
// A request larger than the transport's write buffer is written as the
// buffer fills.
func TestSmallUploadsOneWrite(t *testing.T) {
	const docs = 30
	for _, reg := range []struct {
		name        string
		h           func(testing.TB) http.Handler
		singlePOSTs int
	}{
		{"distribution", testregistry.NewDistributionHandler, 1},
		{"ggcr", testregistry.NewGGCRHandler, docs},
	} {
		t.Run(reg.name, func(t *testing.T) {
			srv := httptest.NewServer(reg.h(t))
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")

			dir := t.TempDir()
			var decl strings.Builder
			decl.WriteString("runid: \"1\"\nroles:\n  model: { provider: example, name: m }\n  parameters: none\n  system-prompt: none\n  tools: none\n  context:\n")
			if err := os.Mkdir(filepath.Join(dir, "docs"), 0o755); err != nil {
				t.Fatal(err)
			}
			for i := range docs {
				name := fmt.Sprintf("docs/doc-%03d.md", i)
				if err := os.WriteFile(filepath.Join(dir, name), bytes.Repeat(fmt.Appendf(nil, "document %d\n", i), 80), 0o644); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&decl, "    - { name: context/doc-%03d.md, file: %s }\n", i, name)
			}
			decl.WriteString("  input: none\n  config: none\n  runtime: none\n")
			declPath := filepath.Join(dir, "runid.yaml")
			if err := os.WriteFile(declPath, []byte(decl.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := pack.Load(t.Context(), declPath, pack.BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}

			opts := Options{PlainHTTP: true, RegistryConfig: filepath.Join(t.TempDir(), "none.json")}
			client, err := NewHTTPClient(opts)
			if err != nil {
				t.Fatal(err)
			}
			log := &writeLog{}
			base := client.Transport.(safeRetry).once.(*timeoutTransport).base.(*http.Transport)
			dial := base.DialContext
			base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := dial(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &loggedConn{Conn: conn, log: log}, nil
			}
			opts.HTTPClient = client
			tgt, err := Open(t.Context(), host+"/runs/docs:v1", false, opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := pack.Push(t.Context(), tgt.Store.(oras.Target), c, pack.PushOptions{Tag: tgt.Reference})
			if err != nil {
				t.Fatal(err)
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			t.Logf("%d blobs uploaded; %d single-POST uploads, %d continuation writes", res.BlobsUploaded, log.uploads, log.continuation)
			if log.uploads < reg.singlePOSTs {
				t.Fatalf("saw %d single-POST uploads, want at least %d", log.uploads, reg.singlePOSTs)
			}
			if log.continuation != 0 {
				t.Errorf("%d of the %d single-POST uploads of a small blob were sent in more than one write", log.continuation, log.uploads)
			}
		})
	}
}

// TestStalledSmallUploadFails: a small upload, whose body goes to net/http
// as it is (not through the idle timer), still fails on the idle timeout
// when the registry takes it and never answers, and is sent once.
func TestStalledSmallUploadFails(t *testing.T) {
	w, puts := stalledPUTTarget(t, true)
	body := bytes.Repeat([]byte("x"), 1024)
	desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(body), Size: int64(len(body))}
	if se := pushStalls(t, w, desc, bytes.NewReader(body), puts); se.What != "response headers" {
		t.Errorf("stalled on the %s, want the response headers", se.What)
	}
}
