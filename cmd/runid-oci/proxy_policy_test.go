package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// policyProxy is a "runid-oci proxy" started in-process.
type policyProxy struct {
	addr     string
	stderr   *lockedBuffer
	stop     func() int // stops it as SIGINT does and returns its exit code
	upstream *atomic.Int64
}

// startPolicyProxy starts the proxy in front of an upstream that counts
// the requests it receives, recording in the layout dir.
func startPolicyProxy(t *testing.T, dir string, extra ...string) *policyProxy {
	t.Helper()
	return startPolicyProxyAt(t, []string{"--oci-layout", dir}, extra...)
}

// startPolicyProxyAt starts the proxy recording in target (flags and
// TARGET).
func startPolicyProxyAt(t *testing.T, target []string, extra ...string) *policyProxy {
	t.Helper()
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Done."},"finish_reason":"stop"}]}`)
	}))
	t.Cleanup(up.Close)
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &lockedBuffer{}
	exited := make(chan int, 1)
	args := append(append([]string{"proxy", "--listen", "127.0.0.1:0", "--upstream", up.URL}, target...), extra...)
	go func() { exited <- run(ctx, args, strings.NewReader(""), io.Discard, stderr) }()
	listening := regexp.MustCompile(`listening on (\S+)`)
	p := &policyProxy{stderr: stderr, upstream: &hits, stop: func() int { cancel(); return <-exited }}
	for deadline := time.Now().Add(30 * time.Second); p.addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			p.addr = m[1]
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
	t.Cleanup(func() { cancel() })
	return p
}

type proxyAnswer struct {
	status   int
	identity string
	body     string
}

func (p *policyProxy) send(t *testing.T, body []byte) proxyAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/v1/chat/completions", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer sk-test")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return proxyAnswer{status: res.StatusCode, identity: res.Header.Get(proxy.DefaultIdentityHeader), body: string(b)}
}

// records returns the execution facts of the output records of identity id
// in store.
func records(t *testing.T, store oras.ReadOnlyTarget, id string) []map[string]any {
	t.Helper()
	if _, err := pull.Verify(t.Context(), store, id, pull.VerifyOptions{}); err != nil {
		t.Fatalf("the identity %s is not declared: %v", id, err)
	}
	tree, err := pull.Discover(t.Context(), store, id, pull.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, n := range tree.Referrers {
		if n.Kind == pull.KindOutput {
			out = append(out, n.Execution)
		}
	}
	return out
}

// TestProxyPolicyToolChanged: with the example policies, the recorded
// OpenAI request is forwarded; the same request whose tool definition
// differs by one byte from its pinned digest is refused with 403 before
// the upstream sees it, its identity is declared, and its output record
// says it was denied and why.
func TestProxyPolicyToolChanged(t *testing.T) {
	for _, st := range stores(t)[:2] { // an OCI layout and a registry
		t.Run(st.name, func(t *testing.T) { testProxyPolicyToolChanged(t, st) })
	}
}

func testProxyPolicyToolChanged(t *testing.T, st store) {
	var flags []string
	for _, f := range []string{"model_allowlist.rego", "parameter_bounds.rego", "tools_pinned.rego", "system_prompt_approved.rego", "system_prompt_disclosed.rego"} {
		flags = append(flags, "--policy", filepath.Join(policiesDir, f))
	}
	p := startPolicyProxyAt(t, append(slices.Clone(st.flags), st.ref("runs", "")), flags...)
	body := testutil.ReadFile(t, filepath.Join("..", "..", "testdata", "requests", "openai-chat.json"))

	ok := p.send(t, body)
	if ok.status != http.StatusOK || p.upstream.Load() != 1 {
		t.Fatalf("approved request: status %d, upstream saw %d: %s", ok.status, p.upstream.Load(), ok.body)
	}

	const approved, changed = "Look up an order by its ID", "Look up an order by its Id"
	if !strings.Contains(string(body), approved) {
		t.Fatal("the request has no get_order description")
	}
	tampered := []byte(strings.Replace(string(body), approved, changed, 1))
	den := p.send(t, tampered)
	if den.status != http.StatusForbidden {
		t.Fatalf("changed tool: status %d, want 403: %s", den.status, den.body)
	}
	if n := p.upstream.Load(); n != 1 {
		t.Fatalf("the upstream saw %d requests; the denied one reached it", n)
	}
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type, Code, Message string
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(den.body), &e); err != nil || e.Type != "error" || e.Error.Type != "runid_denied" || e.Error.Code != "policy_denied" ||
		!strings.Contains(e.Error.Message, `tools: \"tools/get_order.json\"`) && !strings.Contains(e.Error.Message, `tools: "tools/get_order.json"`) {
		t.Fatalf("403 body %s (%v)", den.body, err)
	}
	if den.identity == "" || den.identity == ok.identity {
		t.Fatalf("denied identity %q (approved %q)", den.identity, ok.identity)
	}
	if code := p.stop(); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, p.stderr.String())
	}

	store := st.open(t, "runs")
	recs := records(t, store, den.identity)
	if len(recs) != 1 {
		t.Fatalf("%d output records of the denied identity, want 1", len(recs))
	}
	r := recs[0]
	denied, _ := r[proxy.FactDenied].([]any)
	if r[spec.FactStatus] != spec.StatusFailed || len(denied) != 1 || !strings.Contains(denied[0].(string), "tools/get_order.json") ||
		!strings.HasPrefix(r[proxy.FactError].(string), "denied by policy: tools:") || r[proxy.FactUpstream] != nil || r[proxy.FactHTTPStatus] != nil {
		t.Errorf("denied record facts %v", r)
	}
	if recs := records(t, store, ok.identity); len(recs) != 1 || recs[0][spec.FactStatus] != spec.StatusSucceeded || recs[0][proxy.FactDenied] != nil {
		t.Errorf("approved record facts %v", recs)
	}
	if !strings.Contains(p.stderr.String(), "outcome=denied") {
		t.Errorf("no log line says denied:\n%s", p.stderr.String())
	}
}

// TestProxyPolicyReload: policies are compiled at start and again on
// SIGHUP; a reload that does not compile keeps the policies in force; a
// policy that does not compile at start stops the proxy before it listens.
func TestProxyPolicyReload(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "policy.rego")
	write := func(src string) {
		if err := os.WriteFile(pol, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package runid\n\ndeny contains \"nothing today\" if false\n")
	dir := t.TempDir()
	p := startPolicyProxy(t, dir, "--policy", pol)
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}`)
	if a := p.send(t, body); a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	hup := func(wantLog string, n int) {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); strings.Count(p.stderr.String(), wantLog) < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) { // a hang guard, not a timing
				t.Fatalf("no %q after SIGHUP:\n%s", wantLog, p.stderr.String())
			}
		}
	}
	write("package runid\n\ndeny contains \"closed for maintenance\" if true\n")
	hup("policies reloaded", 1)
	if a := p.send(t, body); a.status != http.StatusForbidden || !strings.Contains(a.body, "closed for maintenance") {
		t.Fatalf("after reload: status %d: %s", a.status, a.body)
	}
	write("package runid\n\ndeny contains msg if {\n")
	hup("policies not reloaded", 1)
	if a := p.send(t, body); a.status != http.StatusForbidden || !strings.Contains(a.body, "closed for maintenance") {
		t.Fatalf("after a failed reload: status %d: %s", a.status, a.body)
	}
	if !strings.Contains(p.stderr.String(), pol+":") {
		t.Errorf("the failed reload does not name the file:\n%s", p.stderr.String())
	}
	if n := p.upstream.Load(); n != 1 {
		t.Errorf("the upstream saw %d requests, want 1", n)
	}
	if code := p.stop(); code != exitOK {
		t.Fatalf("exit %d", code)
	}

	r := runCLI(t, "proxy", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", "--oci-layout", t.TempDir(), "--policy", pol)
	if r.code != 1 || !strings.Contains(r.stderr, pol+":") || strings.Contains(r.stderr, "listening") {
		t.Errorf("a policy that does not compile at start: exit %d\n%s", r.code, r.stderr)
	}
}

// TestProxyPolicyFailsClosed: a policy that errors at run time, or loops
// until the time bound stops it, denies the request; the proxy keeps
// serving and the upstream never sees it.
func TestProxyPolicyFailsClosed(t *testing.T) {
	for name, src := range map[string]string{
		"runtime error": "package runid\n\ndeny contains \"x\" if to_number(\"not a number\") > 1\n",
		"loop":          "package runid\n\ndeny contains \"x\" if {\n\tsome i in numbers.range(1, 1000000000000)\n\ti < 0\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			pol := filepath.Join(t.TempDir(), "policy.rego")
			if err := os.WriteFile(pol, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			p := startPolicyProxy(t, t.TempDir(), "--policy", pol)
			body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}`)
			for range 2 {
				a := p.send(t, body)
				if a.status != http.StatusForbidden || !strings.Contains(a.body, "the policy could not be evaluated") {
					t.Fatalf("status %d: %s", a.status, a.body)
				}
			}
			if n := p.upstream.Load(); n != 0 {
				t.Fatalf("the upstream saw %d requests", n)
			}
			if code := p.stop(); code != exitOK {
				t.Fatalf("exit %d", code)
			}
			if !strings.Contains(p.stderr.String(), "policy evaluation failed; the request is denied") {
				t.Errorf("no error log:\n%s", p.stderr.String())
			}
		})
	}
}
