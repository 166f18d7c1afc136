package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/runid/runid-oci/internal/testregistry"
)

// progressSize is the size of the component the progress tests move: large
// enough that the dripping registry takes seconds, so that bars are drawn
// while it moves.
const progressSize = 6 << 20

// dripRate is how many bytes per second the dripping registry reads or
// writes a blob.
const dripRate = 3 << 20

// dripHandler serves a real registry but reads blob uploads and writes blob
// downloads at dripRate, as a registry on a slow link does.
func dripHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && (r.Method == http.MethodPatch || r.Method == http.MethodPut) {
			r.Body = struct {
				io.Reader
				io.Closer
			}{&dripReader{r: r.Body}, r.Body}
		}
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			w = dripWriter{w}
		}
		h.ServeHTTP(w, r)
	})
}

type dripReader struct{ r io.Reader }

func (d *dripReader) Read(p []byte) (int, error) {
	const chunk = 64 << 10
	if len(p) > chunk {
		p = p[:chunk]
	}
	n, err := d.r.Read(p)
	time.Sleep(time.Duration(n) * time.Second / dripRate)
	return n, err
}

type dripWriter struct{ http.ResponseWriter }

func (d dripWriter) Write(p []byte) (int, error) {
	const chunk = 64 << 10
	total := 0
	for len(p) > 0 {
		k := min(chunk, len(p))
		n, err := d.ResponseWriter.Write(p[:k])
		total += n
		if err != nil {
			return total, err
		}
		if f, ok := d.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		time.Sleep(time.Duration(n) * time.Second / dripRate)
		p = p[k:]
	}
	return total, nil
}

// bigDeclaration writes a declaration with a progressSize binary context
// component and returns its path.
func bigDeclaration(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data := make([]byte, progressSize)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "corpus.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	decl := `runid: "1"
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
`
	p := filepath.Join(dir, "runid.yaml")
	if err := os.WriteFile(p, []byte(decl), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runOnPTY runs the CLI in-process with a pseudo-terminal as stderr and
// returns stdout and everything the terminal received.
func runOnPTY(t *testing.T, args ...string) (code int, stdout, terminal string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(&screen, ptmx) })
	var out bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(""), &out, tty)
	tty.Close()
	wg.Wait() // the master reads EIO once the terminal side is closed
	return code, out.String(), screen.String()
}

var (
	// barFrame is a drawn bar: "[" then fill characters and "]".
	barFrame = regexp.MustCompile(`\[[=\->_ ]{10,}\]`)
	// sizeFrame is a transferred size out of the total, in binary units.
	sizeFrame = regexp.MustCompile(`\d+\.\d (B|KiB|MiB) / 6\.0 MiB`)
	// rateFrame is a transfer rate.
	rateFrame = regexp.MustCompile(`\d+\.\d (B|KiB|MiB)/s`)
)

// TestProgressOnTerminal pushes and pulls a multi-MiB component through a
// dripping registry with a pseudo-terminal as stderr: byte progress bars
// with the size, the rate and an ETA are drawn there, and stdout carries
// only the result.
func TestProgressOnTerminal(t *testing.T) {
	reg := testregistry.Serve(t, dripHandler(testregistry.NewDistributionHandler(t)))
	decl := bigDeclaration(t)
	ref := reg.Ref("runs/big", "v1")

	code, stdout, screen := runOnPTY(t, "push", "--plain-http", ref, decl)
	if code != 0 {
		t.Fatalf("push: exit %d\nstdout: %s\nterminal: %q", code, stdout, screen)
	}
	want := packDigest(t, decl)
	if strings.TrimSpace(stdout) != want {
		t.Errorf("push stdout = %q, want the digest %s alone", stdout, want)
	}
	checkFrames(t, "push", screen, "context/corpus.bin")
	if !strings.Contains(screen, "uploaded  context/corpus.bin (6.0 MiB)") {
		t.Errorf("push: no line for the finished upload on the terminal:\n%q", screen)
	}

	dir := t.TempDir()
	code, stdout, screen = runOnPTY(t, "pull", "--plain-http", ref, "--dir", dir)
	if code != 0 {
		t.Fatalf("pull: exit %d\nstdout: %s\nterminal: %q", code, stdout, screen)
	}
	checkFrames(t, "pull", screen, "context/corpus.bin")
	if strings.Contains(stdout, "MiB/s") || strings.Contains(stdout, "\x1b[") {
		t.Errorf("pull: progress went to stdout:\n%q", stdout)
	}

	// Hashing a large file for digest shows a bar too; with the page
	// cache warm it may finish before the first frame, so only the
	// result is asserted strictly.
	code, stdout, _ = runOnPTY(t, "digest", decl)
	if code != 0 || strings.TrimSpace(stdout) != want {
		t.Errorf("digest on a terminal: exit %d, stdout %q, want %s", code, stdout, want)
	}
}

func checkFrames(t *testing.T, what, screen, name string) {
	t.Helper()
	for _, c := range []struct {
		desc string
		ok   bool
	}{
		{"the component's name", strings.Contains(screen, name)},
		{"a bar", barFrame.MatchString(screen)},
		{"the size transferred of 6.0 MiB", sizeFrame.MatchString(screen)},
		{"a rate", rateFrame.MatchString(screen)},
		{"an ETA", strings.Contains(screen, " ETA ")},
	} {
		if !c.ok {
			t.Errorf("%s: no progress frame with %s on the terminal:\n%q", what, c.desc, screen)
		}
	}
}

// TestNoProgress: with --no-progress on a terminal, or with stderr a pipe,
// no progress is drawn.
func TestNoProgress(t *testing.T) {
	reg := testregistry.Serve(t, dripHandler(testregistry.NewDistributionHandler(t)))
	decl := bigDeclaration(t)

	code, stdout, screen := runOnPTY(t, "push", "--no-progress", "--plain-http", reg.Ref("runs/np", "v1"), decl)
	if code != 0 {
		t.Fatalf("push --no-progress: exit %d\nstdout: %s\nterminal: %q", code, stdout, screen)
	}
	if screen != "" {
		t.Errorf("push --no-progress drew on the terminal:\n%q", screen)
	}

	// A pipe as stderr: the same command, nothing but logs (none here).
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var piped bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(&piped, r) })
	var out bytes.Buffer
	code = run(t.Context(), []string{"pull", "--plain-http", reg.Ref("runs/np", "v1"), "--dir", t.TempDir()}, strings.NewReader(""), &out, w)
	w.Close()
	wg.Wait()
	if code != 0 {
		t.Fatalf("pull with a pipe as stderr: exit %d\n%s\n%s", code, out.String(), piped.String())
	}
	if piped.Len() != 0 {
		t.Errorf("pull with a pipe as stderr wrote to it:\n%q", piped.String())
	}
}
