package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pull"
)

// harness is a proxy in front of a fake upstream, on an OCI layout store
// unless another store is given.
type harness struct {
	t     *testing.T
	dir   string // the layout directory, if the store is a layout
	store oras.Target
	up    *fakeUpstream
	h     *proxy.Handler
	srv   *httptest.Server
	logs  *syncBuffer

	mu      sync.Mutex
	records []proxy.Record
}

// newHarness starts a proxy. opts.Logger and opts.OnRecord are set by the
// harness (debug logs into h.logs). A nil store is a new OCI layout.
func newHarness(t *testing.T, store oras.Target, opts proxy.Options) *harness {
	t.Helper()
	hs := &harness{t: t, up: newFakeUpstream(t), logs: &syncBuffer{}}
	if store == nil {
		hs.dir = t.TempDir()
		s, err := oci.New(hs.dir)
		if err != nil {
			t.Fatal(err)
		}
		store = s
	}
	hs.store = store
	opts.Logger = slog.New(slog.NewTextHandler(hs.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.OnRecord = func(r proxy.Record) {
		hs.mu.Lock()
		hs.records = append(hs.records, r)
		hs.mu.Unlock()
	}
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	up, err := url.Parse(hs.up.URL)
	if err != nil {
		t.Fatal(err)
	}
	hs.h, err = proxy.New(store, up, opts)
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	hs.srv = httptest.NewServer(hs.h)
	t.Cleanup(hs.srv.Close)
	return hs
}

// post sends a request through the proxy and reads the whole response.
func (hs *harness) post(path, body string, header map[string]string) (*http.Response, []byte) {
	hs.t.Helper()
	return hs.do(http.MethodPost, hs.srv.URL+path, body, header)
}

func (hs *harness) do(method, u, body string, header map[string]string) (*http.Response, []byte) {
	hs.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		hs.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		hs.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		hs.t.Fatalf("%s %s: read the response: %v", method, u, err)
	}
	return res, b
}

// shutdown waits for every pending record.
func (hs *harness) shutdown() {
	hs.t.Helper()
	hs.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := hs.h.Shutdown(ctx); err != nil {
		hs.t.Fatalf("Shutdown: %v", err)
	}
}

// recorded returns the records reported, after shutdown.
func (hs *harness) recorded() []proxy.Record {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return append([]proxy.Record(nil), hs.records...)
}

// outputs discovers the output records of identity id in store.
func outputs(t *testing.T, store oras.ReadOnlyTarget, id string) []*pull.Node {
	t.Helper()
	tree, err := pull.Discover(context.Background(), store, id, pull.DiscoverOptions{MaxDepth: 1})
	if err != nil {
		t.Fatalf("Discover %s: %v", id, err)
	}
	var out []*pull.Node
	for _, n := range tree.Referrers {
		if n.Error != "" {
			t.Errorf("referrer %s: %s", n.Digest, n.Error)
		}
		if n.Kind == pull.KindOutput {
			out = append(out, n)
		}
	}
	return out
}

// fileOf returns the bytes of the only file of a record node.
func fileOf(t *testing.T, store oras.ReadOnlyTarget, n *pull.Node) []byte {
	t.Helper()
	if len(n.Files) != 1 {
		t.Fatalf("record %s has %d files, want 1", n.Digest, len(n.Files))
	}
	b, err := content.FetchAll(context.Background(), store, n.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fact returns an execution fact as a string ("" when absent).
func fact(n *pull.Node, k string) string {
	v, ok := n.Execution[k]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

// identityOf computes the identity a request body should get.
func identityOf(t testing.TB, format, body string) digest.Digest {
	t.Helper()
	imp, err := capture.Import(context.Background(), format, []byte(body), capture.Options{})
	if err != nil {
		t.Fatalf("import %s: %v", format, err)
	}
	return imp.Composition.Digest()
}

// apiError decodes the proxy's JSON error body.
func apiError(t *testing.T, b []byte) (typ, code, msg string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type, Code, Message string
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Type != "error" {
		t.Fatalf("error body %q is not a JSON error (%v)", b, err)
	}
	return e.Error.Type, e.Error.Code, e.Error.Message
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// brokenStore fails every push, as a full disk or an unreachable registry
// does.
type brokenStore struct{ oras.Target }

var errDiskFull = fmt.Errorf("write blob: no space left on device")

func (brokenStore) Exists(context.Context, ocispec.Descriptor) (bool, error) { return false, nil }
func (brokenStore) Push(context.Context, ocispec.Descriptor, io.Reader) error {
	return errDiskFull
}

// Request bodies of each format; %s is "true" or "false" for stream, %q a
// user message.
var requests = map[string]struct{ path, body string }{
	capture.FormatOpenAIChat: {"/v1/chat/completions",
		`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":%q}],"temperature":0,"stream":%s}`},
	capture.FormatOpenAIResponses: {"/v1/responses",
		`{"model":"gpt-4.1-mini","instructions":"Be brief.","input":%q,"stream":%s}`},
	capture.FormatAnthropicMessages: {"/v1/messages",
		`{"model":"claude-sonnet-4-5","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":%q}],"stream":%s}`},
}

// request returns the path and body of a request of format.
func request(format, message string, stream bool) (path, body string) {
	r := requests[format]
	return r.path, fmt.Sprintf(r.body, message, fmt.Sprint(stream))
}

// modelOf is the model a request body asks for.
func modelOf(body string) string {
	var m struct{ Model string }
	_ = json.Unmarshal([]byte(body), &m)
	return m.Model
}
