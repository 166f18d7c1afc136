package target_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/target"
)

// TestPushReusesConnections pushes 200 small components, 8 at a time, to a
// real registry through the client Open makes, and counts the TCP
// connections the registry accepted: the requests of a push reuse their
// connections instead of opening one per request once the requests at
// once outnumber net/http's default of 2 idle connections per host (a
// handshake per request on both sides).
func TestPushReusesConnections(t *testing.T) {
	for _, reg := range []struct {
		name string
		h    func(testing.TB) http.Handler
	}{
		{"distribution", testregistry.NewDistributionHandler},
		{"ggcr", testregistry.NewGGCRHandler},
	} {
		t.Run(reg.name, func(t *testing.T) {
			var conns atomic.Int32
			srv := httptest.NewUnstartedServer(reg.h(t))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")

			dir := t.TempDir()
			const docs = 200
			var decl strings.Builder
			decl.WriteString("runid: \"1\"\nroles:\n  model: { provider: example, name: m }\n  parameters: none\n  system-prompt: none\n  tools: none\n  context:\n")
			if err := os.Mkdir(filepath.Join(dir, "docs"), 0o755); err != nil {
				t.Fatal(err)
			}
			for i := range docs {
				name := fmt.Sprintf("docs/doc-%03d.md", i)
				if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "document %d\n", i), 0o644); err != nil {
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
			tgt, err := target.Open(t.Context(), host+"/runs/docs:v1", false, target.Options{PlainHTTP: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := pack.Push(t.Context(), tgt.Store.(oras.Target), c, pack.PushOptions{Tag: tgt.Reference})
			if err != nil {
				t.Fatal(err)
			}
			if res.BlobsUploaded <= docs {
				t.Fatalf("uploaded %d blobs, want more than %d", res.BlobsUploaded, docs)
			}
			// One connection per request in flight, and a few more: net/http
			// dials for a request that finds no idle connection, and a
			// connection freed meanwhile may serve it, the dialled one then
			// kept idle. Without connection reuse, 200 blobs take about 50
			// connections.
			n := conns.Load()
			t.Logf("%d blobs, %d connections", res.BlobsUploaded, n)
			if most := int32(2 * pack.DefaultPushConcurrency); n > most {
				t.Errorf("the push of %d blobs opened %d connections, want at most %d", res.BlobsUploaded, n, most)
			}
		})
	}
}
