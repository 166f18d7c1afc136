package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProxyCommand starts "runid-oci proxy" in-process on a free port,
// sends one request through it to an in-process upstream, stops it as a
// signal would, and finds the identity and its output record in the
// layout.
func TestProxyCommand(t *testing.T) {
	const bearer = "sk-proj-cliT3stK3yN0tT0B3L0gg3d"
	gotAuth := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth <- r.Header.Get("Authorization")
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hi."},"finish_reason":"stop"}]}`)
	}))
	defer up.Close()

	dir := t.TempDir()
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var stdout, stderr lockedBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", up.URL, "--oci-layout", dir}, strings.NewReader(""), &stdout, &stderr)
	}()
	listening := regexp.MustCompile(`listening on (\S+)`)
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		select {
		case code := <-exited:
			t.Fatalf("proxy exited with %d before listening:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) { // a hang guard, not a timing
			t.Fatalf("the proxy did not print its address:\n%s", stderr.String())
		}
	}

	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("the proxy runs with a soft memory limit of %d bytes, want none", got)
	}

	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}`
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, answer)
	}
	if a := <-gotAuth; a != "Bearer "+bearer {
		t.Errorf("upstream Authorization %q", a)
	}
	id := res.Header.Get(proxy.DefaultIdentityHeader)
	imp, err := capture.Import(t.Context(), capture.FormatOpenAIChat, []byte(body), capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if id != imp.Composition.Digest().String() {
		t.Fatalf("identity %q, want %s", id, imp.Composition.Digest())
	}

	stop() // as SIGINT does
	if code := <-exited; code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	logs := stderr.String()
	if strings.Contains(logs, bearer) {
		t.Errorf("the logs hold the credential:\n%s", logs)
	}
	if !strings.Contains(logs, "identity="+id) || !strings.Contains(logs, "status=200") {
		t.Errorf("no request line with the identity and status:\n%s", logs)
	}
	store, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pull.Verify(t.Context(), store, id, pull.VerifyOptions{}); err != nil {
		t.Fatalf("identity: %v", err)
	}
	tree, err := pull.Discover(t.Context(), store, id, pull.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var records []*pull.Node
	for _, n := range tree.Referrers {
		if n.Kind == pull.KindOutput {
			records = append(records, n)
		}
	}
	if len(records) != 1 {
		t.Fatalf("%d output records, want 1", len(records))
	}
	ex := records[0].Execution
	if ex[spec.FactStatus] != spec.StatusSucceeded || ex[spec.FactServedModel] != "gpt-4o-mini-2024-07-18" || ex[spec.FactInstanceID] != res.Header.Get(proxy.DefaultInstanceHeader) {
		t.Errorf("execution facts %v", ex)
	}
}

// TestProxyCommandUsage: bad flags and targets are usage errors (exit 2).
func TestProxyCommandUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no upstream", []string{"proxy", "--listen", "127.0.0.1:0", "--oci-layout", dir}, "--upstream"},
		{"no target", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "http://x"}, "TARGET"},
		{"bad policy", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "http://x", "--on-store-error", "ignore", "--oci-layout", dir}, "--on-store-error"},
		{"relative upstream", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "/v1", "--oci-layout", dir}, "--upstream"},
		{"tagged target", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "http://x", "--oci-layout", dir + ":v1"}, "names a tag"},
		{"bundle without key", []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "http://x", "--new-bundle-format", "--oci-layout", dir}, "--key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRun(t, exitUsage, tc.args...)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q, want it to mention %q", r.stderr, tc.want)
			}
		})
	}
}
