package target

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
)

// drip writes body one byte every interval, until the client goes away.
// A real registry does not do this; a hostile or broken one may.
func drip(w http.ResponseWriter, r *http.Request, body []byte, interval time.Duration) {
	for _, b := range body {
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(interval):
		}
	}
}

const testManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="},"layers":[]}`

// stallServer serves the manifest of testManifest under tag v1, its body
// dripped one byte every interval; with headers false it never sends the
// response headers at all.
func stallServer(t *testing.T, interval time.Duration, headers bool) (*httptest.Server, *atomic.Int32) {
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			http.NotFound(w, r)
			return
		}
		gets.Add(1)
		if !headers {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
		w.Header().Set("Content-Length", "999")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			drip(w, r, []byte(testManifest), interval)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &gets
}

func openTest(t *testing.T, srv *httptest.Server, o Options) oras.ReadOnlyTarget {
	t.Helper()
	o.PlainHTTP = true
	o.RegistryConfig = t.TempDir() + "/none.json"
	tg, err := Open(t.Context(), strings.TrimPrefix(srv.URL, "http://")+"/runs:v1", true, o)
	if err != nil {
		t.Fatal(err)
	}
	return tg.Store
}

func TestDrippedManifestFailsOnIdleTimeout(t *testing.T) {
	srv, gets := stallServer(t, 2*time.Second, true)
	store := openTest(t, srv, Options{IdleTimeout: 300 * time.Millisecond})
	start := time.Now()
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(testManifest), Size: 999}
	rc, err := store.Fetch(t.Context(), desc)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	var se *StallError
	if !errors.As(err, &se) || se.Idle != 300*time.Millisecond || se.What != "response body" {
		t.Fatalf("fetch: %v, want a stall of the response body", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failed after %s, want about the idle timeout", d)
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("%d requests: a stall is not retried", n)
	}
	if !strings.Contains(err.Error(), "stalled") || !strings.Contains(err.Error(), "idle timeout") {
		t.Errorf("error %q does not say what happened", err)
	}
}

func TestSilentRegistryFailsOnIdleTimeout(t *testing.T) {
	srv, _ := stallServer(t, 0, false)
	store := openTest(t, srv, Options{IdleTimeout: 300 * time.Millisecond})
	start := time.Now()
	_, err := store.Resolve(t.Context(), "v1")
	var se *StallError
	if !errors.As(err, &se) || se.What != "response headers" {
		t.Fatalf("resolve: %v, want a stall awaiting the response headers", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failed after %s", d)
	}
}

func TestMetadataRequestTotalTimeout(t *testing.T) {
	// Each byte comes well within the idle timeout; the whole answer does
	// not come within the total one.
	srv, _ := stallServer(t, 50*time.Millisecond, true)
	store := openTest(t, srv, Options{IdleTimeout: 2 * time.Second, Timeout: 500 * time.Millisecond})
	start := time.Now()
	_, _, err := oras.FetchBytes(t.Context(), store, "v1", oras.DefaultFetchBytesOptions)
	var se *StallError
	if !errors.As(err, &se) || se.Total != 500*time.Millisecond {
		t.Fatalf("fetch: %v, want the total timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("failed after %s", d)
	}
}

// TestStalledUploadFails: a registry that takes no byte of an upload
// fails it after the idle timeout, and the upload (a PUT) is sent once.
func TestStalledUploadFails(t *testing.T) {
	w, puts := stalledPUTTarget(t, false)
	const size = 256 << 20 // far more than the socket buffers hold
	desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString("x"), Size: size}
	pushStalls(t, w, desc, io.LimitReader(zeros{}, size), puts)
}

// stalledPUTTarget opens a target on a registry that opens upload
// sessions and never answers their PUT; with readBody it reads the PUT's
// body first, else it takes no byte of it. It counts the PUTs.
func stalledPUTTarget(t *testing.T, readBody bool) (oras.Target, *atomic.Int32) {
	t.Helper()
	var puts atomic.Int32
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/"):
			w.Header().Set("Location", "/v2/runs/blobs/uploads/session-1")
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPut:
			puts.Add(1)
			if readBody {
				_, _ = io.Copy(io.Discard, r.Body)
			}
			<-done // never answers
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	tg, err := Open(t.Context(), strings.TrimPrefix(srv.URL, "http://")+"/runs", false, Options{PlainHTTP: true, RegistryConfig: t.TempDir() + "/none.json", IdleTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := tg.Writable()
	return w, &puts
}

// pushStalls pushes r as desc and checks that the push fails on the idle
// timeout, well before 10 s, with one PUT sent; it returns the stall.
func pushStalls(t *testing.T, w oras.Target, desc ocispec.Descriptor, r io.Reader, puts *atomic.Int32) *StallError {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err := w.Push(ctx, desc, r)
	var se *StallError
	if !errors.As(err, &se) {
		t.Fatalf("push: %v, want a stall", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failed after %s", d)
	}
	if n := puts.Load(); n != 1 {
		t.Errorf("%d PUTs, want 1: an upload is not retried", n)
	}
	return se
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestTimeoutTransportLeavesRequestAlone: the transport hands net/http a
// copy of the request with its own context and body, and the caller's
// request keeps its own, as http.RoundTripper requires.
func TestTimeoutTransportLeavesRequestAlone(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(r.Header.Get("X-Test") + " " + string(b))
	}))
	t.Cleanup(srv.Close)
	tt := &timeoutTransport{base: http.DefaultTransport, idle: 5 * time.Second, total: 5 * time.Second}
	type key struct{}
	ctx := context.WithValue(t.Context(), key{}, "caller")
	body := io.NopCloser(strings.NewReader(strings.Repeat("x", 100<<10)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/v2/runs/manifests/v1", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Test", "sent")
	resp, err := tt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "sent " + strings.Repeat("x", 100<<10); got.Load() != want {
		t.Errorf("the registry got %.20q…, want %.20q…", got.Load(), want)
	}
	if req.Context() != ctx || req.Body != body || req.Header.Get("X-Test") != "sent" || len(req.Header) != 1 {
		t.Errorf("the caller's request changed: context %v, body %T, header %v", req.Context(), req.Body, req.Header)
	}
	if resp.Request == req {
		t.Error("the response names the caller's request, not the copy that was sent")
	}
}
