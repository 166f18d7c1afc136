package otlptest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runid/runid-oci/internal/otlptest"
	"github.com/runid/runid-oci/spec"
)

// runidBinary builds cmd/runid-oci once for the tests of this package.
var runidBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "runid-oci-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "runid-oci")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/runid-oci")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/runid-oci: %v\n%s", err, out)
	}
	return bin, nil
})

func binary(t *testing.T) string {
	t.Helper()
	bin, err := runidBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// cleanEnv is the test's environment without any OTEL_* variable.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return env
}

// cliProxy is a runid-oci proxy process.
type cliProxy struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	done   chan error
}

// startCLIProxy starts `runid-oci proxy` recording into layout, with env
// added to an environment without OTEL_* variables, and waits until it
// listens.
func startCLIProxy(t *testing.T, upstreamURL, layout string, env ...string) *cliProxy {
	t.Helper()
	cmd := exec.Command(binary(t), "proxy", "--listen", "127.0.0.1:0", "--upstream", upstreamURL, "--oci-layout", layout)
	cmd.Env = append(cleanEnv(), env...)
	pr, pw := io.Pipe()
	p := &cliProxy{cmd: cmd, stderr: new(bytes.Buffer), done: make(chan error, 1)}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.WriteString(line + "\n")
			if a, ok := strings.CutPrefix(line, "listening on "); ok {
				addr <- a
			}
		}
	}()
	select {
	case p.addr = <-addr:
	case err := <-p.done:
		t.Fatalf("runid-oci proxy exited: %v\n%s", err, p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("runid-oci proxy did not listen within 30 s\n%s", p.stderr)
	}
	return p
}

// stop interrupts the proxy and waits until it exits (it exports the
// spans still queued on the way out).
func (p *cliProxy) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("runid-oci proxy: %v\n%s", err, p.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("runid-oci proxy did not stop within 60 s\n%s", p.stderr)
	}
}

// sendAll sends every request of requests() through the proxy at base
// with the incoming traceparent, and returns the identities answered.
func sendAll(t *testing.T, base string) []string {
	t.Helper()
	var ids []string
	for _, ex := range requests() {
		req, _ := http.NewRequest(http.MethodPost, base+ex.path, strings.NewReader(ex.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Traceparent", incomingTP)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s stream=%v: status %d", ex.format, ex.stream, res.StatusCode)
		}
		ids = append(ids, res.Header.Get("Runid-Identity"))
	}
	return ids
}

// runCLI runs the built runid-oci and returns its stdout.
func runCLI(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("runid-oci %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// discoverNode is the part of `runid-oci discover -o json` read here.
type discoverNode struct {
	Digest    string          `json:"digest"`
	Kind      string          `json:"kind"`
	Execution map[string]any  `json:"execution"`
	Referrers []*discoverNode `json:"referrers"`
}

// TestCLIProxyTraces: `runid-oci proxy`, a process configured only by
// OpenTelemetry's environment variables, exports one span per request to
// a Collector's OTLP receiver over gRPC and over HTTP, with the service
// name and sampler asked for. From each span's runid.identity,
// `runid-oci inspect` opens the run; from each output record's traceId
// and spanId (`runid-oci discover`), the span is found.
func TestCLIProxyTraces(t *testing.T) {
	for _, tc := range []struct {
		protocol, sampler string
	}{
		{"grpc", "parentbased_always_on"},
		{"http/protobuf", "always_on"},
	} {
		t.Run(strings.ReplaceAll(tc.protocol, "/", "-"), func(t *testing.T) {
			col := otlptest.Start(t)
			endpoint := col.HTTPEndpoint
			if tc.protocol == "grpc" {
				endpoint = "http://" + col.GRPCEndpoint
			}
			up := httptest.NewServer(&upstream{traceparent: map[string]string{}})
			defer up.Close()
			layout := t.TempDir()
			service := "cli-proxy-" + strings.ReplaceAll(tc.protocol, "/", "-")
			p := startCLIProxy(t, up.URL, layout,
				"OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint,
				"OTEL_EXPORTER_OTLP_PROTOCOL="+tc.protocol,
				"OTEL_SERVICE_NAME="+service,
				"OTEL_TRACES_SAMPLER="+tc.sampler)
			ids := sendAll(t, "http://"+p.addr)
			p.stop(t)
			spans := col.WaitSpans(t, len(ids), 15*time.Second)
			if len(spans) != len(ids) {
				t.Fatalf("received %d spans, want %d", len(spans), len(ids))
			}
			bySpan := map[string]otlptest.Span{}
			for _, s := range spans {
				checkNoContent(t, s)
				if s.Resource["service.name"] != service {
					t.Errorf("service.name %v, want OTEL_SERVICE_NAME %s", s.Resource["service.name"], service)
				}
				if s.TraceID().String() != incomingTID {
					t.Errorf("trace ID %s, want the incoming %s", s.TraceID(), incomingTID)
				}
				bySpan[s.TraceID().String()+"/"+s.SpanID().String()] = s
			}

			// Span -> identity: inspect what each span names.
			records := 0
			for _, s := range spans {
				id, _ := s.Attrs()["runid.identity"].(string)
				if !strings.HasPrefix(id, "sha256:") {
					t.Fatalf("span %s: runid.identity %q", s.Name(), id)
				}
				var inspected map[string]any
				out := runCLI(t, "inspect", "--oci-layout", layout+"@"+id, "-o", "json")
				if err := json.Unmarshal(out, &inspected); err != nil {
					t.Fatalf("inspect %s: %v\n%s", id, err, out)
				}
				if !bytes.Contains(out, []byte(id)) {
					t.Errorf("inspect %s does not name the identity:\n%s", id, out)
				}
				// Record -> span: the record's traceId and spanId find it.
				var tree discoverNode
				out = runCLI(t, "discover", "--oci-layout", layout+"@"+id, "-o", "json")
				if err := json.Unmarshal(out, &tree); err != nil {
					t.Fatalf("discover %s: %v\n%s", id, err, out)
				}
				rec := s.Attrs()["runid.record"]
				for _, r := range tree.Referrers {
					if r.Execution == nil || r.Digest != rec {
						continue
					}
					records++
					tid, _ := r.Execution[spec.FactTraceID].(string)
					sid, _ := r.Execution[spec.FactSpanID].(string)
					found, ok := bySpan[tid+"/"+sid]
					if !ok {
						t.Errorf("record %s: traceId/spanId %s/%s name no span the collector received", r.Digest, tid, sid)
						continue
					}
					if found.Attrs()["runid.identity"] != id {
						t.Errorf("record %s of %s: its span names identity %v", r.Digest, id, found.Attrs()["runid.identity"])
					}
				}
			}
			if records != len(spans) {
				t.Errorf("found the output record of %d of %d spans by runid.record", records, len(spans))
			}
		})
	}
}

// TestCLIProxySampledOut: with OTEL_TRACES_SAMPLER=always_off the proxy
// process exports no span and still serves and records every request.
func TestCLIProxySampledOut(t *testing.T) {
	col := otlptest.Start(t)
	up := httptest.NewServer(&upstream{traceparent: map[string]string{}})
	defer up.Close()
	layout := t.TempDir()
	p := startCLIProxy(t, up.URL, layout,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+col.HTTPEndpoint,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_TRACES_SAMPLER=always_off")
	ids := sendAll(t, "http://"+p.addr)
	p.stop(t)
	if n := len(col.Spans()); n != 0 {
		t.Fatalf("the collector received %d spans with OTEL_TRACES_SAMPLER=always_off", n)
	}
	for _, id := range ids {
		var tree discoverNode
		if err := json.Unmarshal(runCLI(t, "discover", "--oci-layout", layout+"@"+id, "-o", "json"), &tree); err != nil {
			t.Fatal(err)
		}
		if len(tree.Referrers) == 0 {
			t.Errorf("identity %s has no output record", id)
		}
	}
}

// TestCLIProxyNoTelemetry: with no OTEL_* variable set the proxy exports
// nothing, not even to OTLP's default endpoints (localhost:4317 and
// 4318), where a receiver listens for this test.
func TestCLIProxyNoTelemetry(t *testing.T) {
	col, err := otlptest.StartOn(t, "127.0.0.1:4317", "127.0.0.1:4318")
	if err != nil {
		t.Skipf("OTLP's default ports are taken, so a receiver cannot listen there: %v", err)
	}
	up := httptest.NewServer(&upstream{traceparent: map[string]string{}})
	defer up.Close()
	p := startCLIProxy(t, up.URL, t.TempDir())
	sendAll(t, "http://"+p.addr)
	p.stop(t)
	if n := len(col.Spans()); n != 0 {
		t.Fatalf("with no OTEL_* variable the proxy exported %d spans", n)
	}
	// The receiver works: with only the endpoint set, the same requests'
	// spans arrive there, so the silence above is the proxy's own.
	p = startCLIProxy(t, up.URL, t.TempDir(), "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318")
	sendAll(t, "http://"+p.addr)
	p.stop(t)
	col.WaitSpans(t, len(requests()), 15*time.Second)
}
