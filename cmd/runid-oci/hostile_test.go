package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
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
	// Waits on a slowed registry, not the CPU: runs beside other tests.
	t.Parallel()
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

// TestNamedPipesRefused: a named pipe with no writer, in place of the
// declaration, a blob of a layout, a key file, a reveal file or the
// withhold secret, is refused at once (exit 1, "not a regular file");
// opening one for reading would block forever.
func TestNamedPipesRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	layout := filepath.Join(dir, "layout")
	st := store{flags: []string{"--oci-layout"}, ref: func(_, ref string) string { return layout + ":" + ref }}
	comp := pushExample(t, st, "rag-agent", "", "v1")
	blobFifo := filepath.Join(layout, "blobs", "sha256", comp.Components[3].Digest.Encoded())
	if err := os.Remove(blobFifo); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(blobFifo, 0o600); err != nil {
		t.Fatal(err)
	}
	clean := filepath.Join(dir, "clean")
	pushExample(t, store{flags: []string{"--oci-layout"}, ref: func(_, ref string) string { return clean + ":" + ref }}, "minimal", "", "v1")
	for name, cmd := range map[string][]string{
		"declaration":     {"digest", fifo},
		"layout blob":     {"verify", "--oci-layout", layout + ":v1"},
		"key file":        {"verify", "--oci-layout", clean + ":v1", "--key", fifo},
		"withhold secret": {"digest", exampleDecl("minimal"), "--withhold-secret-file", fifo},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			r := runCLIContext(ctx, cmd...)
			if ctx.Err() != nil {
				t.Fatalf("runid-oci %v blocked on the named pipe", cmd)
			}
			if r.code != exitError || !strings.Contains(r.stderr, "not a regular file") {
				t.Errorf("exit %d, want %d and \"not a regular file\":\n%s%s", r.code, exitError, r.stdout, r.stderr)
			}
		})
	}
	t.Run("reveal file", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { _, err := pull.ReadReveal(fifo); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, pack.ErrNotRegular) {
				t.Errorf("ReadReveal: %v, want ErrNotRegular", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("ReadReveal blocked on the named pipe")
		}
	})
}

// TestSIGTERMEndsPull: the built command, pulling from a registry that
// drips a blob, ends within two seconds of SIGTERM, and leaves no
// temporary file in the pull directory or the temporary directory.
func TestSIGTERMEndsPull(t *testing.T) {
	f := startFaulty(t)
	ref, _ := f.arm(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	out, tmp := filepath.Join(t.TempDir(), "out"), t.TempDir()
	cmd := exec.Command(runidBin, "pull", "--plain-http", ref, "--dir", out)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the fetch is under way, and stalled
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("exit 0 after SIGTERM")
		}
		t.Logf("ended %s after SIGTERM: %v; stderr: %s", time.Since(sent).Round(time.Millisecond), err, stderr.String())
	case <-time.After(2 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 2 s after SIGTERM; stderr: %s", stderr.String())
	}
	for _, d := range []string{out, tmp} {
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				t.Errorf("left behind: %s", p)
			}
			return nil
		})
	}
}
