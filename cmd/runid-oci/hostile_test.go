package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runid/runid-oci/internal/testregistry"
)

// faultyRegistry is a Distribution registry behind a handler that, once
// armed, answers GETs of one blob the way a hostile registry would.
type faultyRegistry struct {
	reg    *testregistry.Registry
	digest atomic.Value // string: the blob to mangle
	fault  atomic.Value // func(w, r, body)
}

func startFaulty(t *testing.T) *faultyRegistry {
	f := &faultyRegistry{}
	f.digest.Store("")
	h := testregistry.NewDistributionHandler(t)
	f.reg = testregistry.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := f.digest.Load().(string)
		if d == "" || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+d) {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		f.fault.Load().(func(http.ResponseWriter, *http.Request, []byte))(w, r, rec.Body.Bytes())
	}))
	return f
}

// arm pushes the rag-agent example and makes the registry mangle one of
// its component blobs with fault; it returns the reference and the
// component's name.
func (f *faultyRegistry) arm(t *testing.T, fault func(http.ResponseWriter, *http.Request, []byte)) (ref, name string) {
	st := store{flags: []string{"--plain-http"}, ref: f.reg.Ref}
	comp := pushExample(t, st, "rag-agent", "hostile", "v1")
	victim := comp.Components[3]
	f.fault.Store(fault)
	f.digest.Store(victim.Digest.String())
	return f.reg.Ref("hostile", "v1"), victim.Name
}

// TestVerifyStalledBlob: a registry that drips a blob one byte a second
// fails verify and pull after the idle timeout (and a few retries of the
// GET), with exit 1 and an error that says so.
func TestVerifyStalledBlob(t *testing.T) {
	f := startFaulty(t)
	ref, _ := f.arm(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		for _, b := range body {
			if _, err := w.Write([]byte{b}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
	for _, cmd := range [][]string{
		{"verify", "--plain-http", "--idle-timeout", "300ms", ref},
		{"pull", "--plain-http", "--idle-timeout", "300ms", ref, "--dir", t.TempDir() + "/out"},
	} {
		start := time.Now()
		r := runCLI(t, cmd...)
		if r.code != exitError {
			t.Fatalf("%s: exit %d, want %d\n%s%s", cmd[0], r.code, exitError, r.stdout, r.stderr)
		}
		if d := time.Since(start); d > 8*time.Second {
			t.Errorf("%s ended after %s", cmd[0], d)
		}
		for _, s := range []string{"stalled", "300ms", "--idle-timeout"} {
			if !strings.Contains(r.stderr, s) {
				t.Errorf("%s: stderr lacks %q:\n%s", cmd[0], s, r.stderr)
			}
		}
	}
}

// TestVerifyWrongSizeBlob: a registry that serves a blob shorter or
// longer than its descriptor (with a Content-Length that says so, or
// none) fails the blob-size check: exit 3, not exit 1.
func TestVerifyWrongSizeBlob(t *testing.T) {
	for name, mangle := range map[string]struct {
		body   func([]byte) []byte
		length bool
	}{
		"longer":           {func(b []byte) []byte { return append(bytes.Clone(b), 'x') }, true},
		"shorter":          {func(b []byte) []byte { return b[:len(b)-1] }, true},
		"shorter, chunked": {func(b []byte) []byte { return b[:len(b)-1] }, false},
		"longer, chunked":  {func(b []byte) []byte { return append(bytes.Clone(b), 'x') }, false},
	} {
		t.Run(name, func(t *testing.T) {
			f := startFaulty(t)
			ref, victim := f.arm(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				body = mangle.body(body)
				if mangle.length {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				w.WriteHeader(http.StatusOK)
				_, _ = io.Copy(w, bytes.NewReader(body))
			})
			r := runCLI(t, "verify", "--plain-http", ref)
			if r.code != exitNotVerify {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, exitNotVerify, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "blob-size") || !strings.Contains(r.stdout, victim) {
				t.Errorf("report does not name the blob-size check of %s:\n%s", victim, r.stdout)
			}
		})
	}
}
