package otlptest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"oras.land/oras-go/v2/content/memory"

	"github.com/runid/runid-oci/internal/otlptest"
	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pack/capture/telemetry"
	"github.com/runid/runid-oci/spec"
)

const (
	promptMarker = "PROMPT-MARKER-7f3a9c"
	apiKey       = "sk-test-4e1d0b9a77c2f6e8d3a5"
	incomingTP   = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	incomingTID  = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingPID  = "00f067aa0ba902b7"
)

var responsesDir = filepath.Join("..", "..", "testdata", "responses")

// upstream serves the recorded responses of testdata/responses and keeps
// the traceparent of each request it receives.
type upstream struct {
	mu          sync.Mutex
	traceparent map[string]string // request marker -> traceparent received
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	format := map[string]string{"/v1/chat/completions": capture.FormatOpenAIChat, "/v1/responses": capture.FormatOpenAIResponses, "/v1/messages": capture.FormatAnthropicMessages}[r.URL.Path]
	stream := bytes.Contains(body, []byte(`"stream":true`))
	name, ct := format+".json", "application/json"
	if stream {
		name, ct = format+".sse", "text/event-stream"
	}
	data, err := os.ReadFile(filepath.Join(responsesDir, name))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	u.mu.Lock()
	u.traceparent[fmt.Sprintf("%s/%v", format, stream)] = r.Header.Get("Traceparent")
	u.mu.Unlock()
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(data)
}

type exchange struct {
	format string
	stream bool
	body   string
	path   string
}

func requests() []exchange {
	var out []exchange
	for _, stream := range []bool{false, true} {
		s := fmt.Sprint(stream)
		out = append(out,
			exchange{capture.FormatOpenAIChat, stream, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + promptMarker + `"}],"temperature":0.3,"max_tokens":50,"seed":7,"stream":` + s + `}`, "/v1/chat/completions"},
			exchange{capture.FormatOpenAIResponses, stream, `{"model":"gpt-4.1","input":"` + promptMarker + `","max_output_tokens":40,"top_p":0.8,"stream":` + s + `}`, "/v1/responses"},
			exchange{capture.FormatAnthropicMessages, stream, `{"model":"claude-opus-4-20250514","max_tokens":64,"top_k":5,"messages":[{"role":"user","content":"` + promptMarker + `"}],"stream":` + s + `}`, "/v1/messages"},
		)
	}
	return out
}

func TestProxySpansGRPC(t *testing.T) { testProxySpans(t, "grpc") }
func TestProxySpansHTTP(t *testing.T) { testProxySpans(t, "http/protobuf") }

func testProxySpans(t *testing.T, protocol string) {
	col := otlptest.Start(t)
	endpoint := col.HTTPEndpoint
	if protocol == "grpc" {
		endpoint = "http://" + col.GRPCEndpoint
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
	t.Setenv("OTEL_SERVICE_NAME", "proxy-under-test")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	tp, err := telemetry.Setup(context.Background(), telemetry.SetupOptions{})
	if err != nil || tp == nil {
		t.Fatalf("Setup = %v, %v; want a provider", tp, err)
	}
	defer tp.Shutdown(context.Background())

	up := &upstream{traceparent: map[string]string{}}
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	// An upstream that refuses connections: a port that was free.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	ln.Close()

	var mu sync.Mutex
	records := map[string]proxy.Record{} // instance -> record
	onRecord := func(r proxy.Record) { mu.Lock(); records[r.InstanceID] = r; mu.Unlock() }
	tracer := telemetry.NewTracer(telemetry.Options{TracerProvider: tp})
	upURL, _ := url.Parse(upSrv.URL)
	h, err := proxy.New(memory.New(), upURL, proxy.Options{Tracer: tracer, OnRecord: onRecord})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	dead, err := proxy.New(memory.New(), deadURL, proxy.Options{Tracer: tracer, OnRecord: onRecord})
	if err != nil {
		t.Fatal(err)
	}
	deadSrv := httptest.NewServer(dead)
	defer deadSrv.Close()

	send := func(base string, ex exchange) (instance string, status int) {
		req, _ := http.NewRequest(http.MethodPost, base+ex.path, strings.NewReader(ex.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("X-Api-Key", apiKey)
		req.Header.Set("Traceparent", incomingTP)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.Header.Get(proxy.DefaultInstanceHeader), res.StatusCode
	}
	byInstance := map[string]exchange{}
	for _, ex := range requests() {
		inst, code := send(srv.URL, ex)
		if code != http.StatusOK {
			t.Fatalf("%s stream=%v: status %d", ex.format, ex.stream, code)
		}
		byInstance[inst] = ex
	}
	failedEx := requests()[0]
	failedInst, code := send(deadSrv.URL, failedEx)
	if code != http.StatusBadGateway {
		t.Fatalf("dead upstream: status %d, want 502", code)
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := dead.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := col.WaitSpans(t, len(byInstance)+1, 10*time.Second)
	if len(spans) != len(byInstance)+1 {
		t.Fatalf("received %d spans, want %d", len(spans), len(byInstance)+1)
	}

	for _, s := range spans {
		attrs := s.Attrs()
		inst, _ := attrs["runid.instance"].(string)
		rec, ok := records[inst]
		if !ok {
			t.Fatalf("span %s names instance %q, which no record has", s.Name(), inst)
		}
		name := s.Name()
		t.Run(name+"/"+inst, func(t *testing.T) {
			checkNoContent(t, s)
			if got := s.TraceID().String(); got != incomingTID {
				t.Errorf("trace ID %s, want the incoming %s", got, incomingTID)
			}
			if got := s.ParentSpanID().String(); got != incomingPID {
				t.Errorf("parent span ID %s, want the incoming %s", got, incomingPID)
			}
			if s.Kind() != ptrace.SpanKindClient {
				t.Errorf("kind %v, want client", s.Kind())
			}
			if s.Resource["service.name"] != "proxy-under-test" {
				t.Errorf("service.name %v, want OTEL_SERVICE_NAME", s.Resource["service.name"])
			}
			if s.Scope != telemetry.ScopeName {
				t.Errorf("scope %q", s.Scope)
			}
			// Both directions: span -> identity and record, record -> span.
			if attrs["runid.identity"] != rec.Identity.String() {
				t.Errorf("runid.identity %v, want %s", attrs["runid.identity"], rec.Identity)
			}
			if rec.Output == "" || attrs["runid.record"] != rec.Output.String() {
				t.Errorf("runid.record %v, want the output record %s", attrs["runid.record"], rec.Output)
			}
			if rec.Facts[spec.FactTraceID] != s.TraceID().String() || rec.Facts[spec.FactSpanID] != s.SpanID().String() {
				t.Errorf("record facts traceId/spanId %v/%v, want %s/%s", rec.Facts[spec.FactTraceID], rec.Facts[spec.FactSpanID], s.TraceID(), s.SpanID())
			}
			if err := spec.CheckExecution(rec.Facts); err != nil {
				t.Errorf("record facts: %v", err)
			}
			if inst == failedInst {
				if s.Status().Code() != ptrace.StatusCodeError || !strings.Contains(s.Status().Message(), "upstream") {
					t.Errorf("status %v %q, want an error naming the upstream", s.Status().Code(), s.Status().Message())
				}
				if rec.Status != spec.StatusFailed || attrs["error.type"] != spec.StatusFailed {
					t.Errorf("record status %s, error.type %v; want failed", rec.Status, attrs["error.type"])
				}
				checkRequest(t, attrs, failedEx)
				return
			}
			ex := byInstance[inst]
			if s.Status().Code() == ptrace.StatusCodeError {
				t.Errorf("status error %q on a succeeded request", s.Status().Message())
			}
			checkRequest(t, attrs, ex)
			checkResponse(t, attrs, rec, ex)
			got := up.traceparent[fmt.Sprintf("%s/%v", ex.format, ex.stream)]
			want := "00-" + s.TraceID().String() + "-" + s.SpanID().String() + "-01"
			if got != want {
				t.Errorf("upstream received traceparent %q, want the proxy span's %q", got, want)
			}
		})
	}
}

func checkRequest(t *testing.T, attrs map[string]any, ex exchange) {
	t.Helper()
	want := map[string]any{"gen_ai.operation.name": "chat"}
	switch ex.format {
	case capture.FormatOpenAIChat:
		want["gen_ai.provider.name"], want["gen_ai.request.model"] = "openai", "gpt-4o-mini"
		want["gen_ai.request.temperature"], want["gen_ai.request.max_tokens"], want["gen_ai.request.seed"] = 0.3, int64(50), int64(7)
	case capture.FormatOpenAIResponses:
		want["gen_ai.provider.name"], want["gen_ai.request.model"] = "openai", "gpt-4.1"
		want["gen_ai.request.top_p"], want["gen_ai.request.max_tokens"] = 0.8, int64(40)
	case capture.FormatAnthropicMessages:
		want["gen_ai.provider.name"], want["gen_ai.request.model"] = "anthropic", "claude-opus-4-20250514"
		want["gen_ai.request.top_k"], want["gen_ai.request.max_tokens"] = 5.0, int64(64)
	}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("%s = %v (%T), want %v (%T)", k, attrs[k], attrs[k], v, v)
		}
	}
}

// checkResponse compares the response attributes and record facts with
// the recorded response.
func checkResponse(t *testing.T, attrs map[string]any, rec proxy.Record, ex exchange) {
	t.Helper()
	name := ex.format + ".json"
	if ex.stream {
		name = ex.format + ".sse"
	}
	f, err := os.Open(filepath.Join(responsesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := capture.DescribeResponse(ex.format, f, ex.stream)
	if d.ID == "" || d.Model == "" || len(d.FinishReasons) == 0 || d.InputTokens == nil || d.OutputTokens == nil || d.CachedInputTokens == nil {
		t.Fatalf("the fixture %s lacks a response fact: %+v", name, d)
	}
	want := map[string]any{
		"gen_ai.response.id":                   d.ID,
		"gen_ai.response.model":                d.Model,
		"gen_ai.usage.input_tokens":            *d.InputTokens,
		"gen_ai.usage.output_tokens":           *d.OutputTokens,
		"gen_ai.usage.cache_read.input_tokens": *d.CachedInputTokens,
		"http.response.status_code":            int64(200),
	}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("%s = %v (%T), want %v (%T)", k, attrs[k], attrs[k], v, v)
		}
	}
	if fr, _ := attrs["gen_ai.response.finish_reasons"].([]any); len(fr) != len(d.FinishReasons) || fr[0] != d.FinishReasons[0] {
		t.Errorf("gen_ai.response.finish_reasons = %v, want %v", attrs["gen_ai.response.finish_reasons"], d.FinishReasons)
	}
	if !slices.Equal(rec.Facts[spec.FactFinishReasons].([]string), d.FinishReasons) {
		t.Errorf("record finishReasons %v, want %v", rec.Facts[spec.FactFinishReasons], d.FinishReasons)
	}
	u, _ := rec.Facts[spec.FactUsage].(map[string]any)
	if u[spec.UsageInputTokens] != *d.InputTokens || u[spec.UsageOutputTokens] != *d.OutputTokens || u[spec.UsageCachedInputTokens] != *d.CachedInputTokens {
		t.Errorf("record usage %v, want %+v", u, d.Usage())
	}
}

// checkNoContent fails when a span carries the prompt, the API key or a
// header name anywhere: name, attributes, events, links, resource.
func checkNoContent(t *testing.T, s otlptest.Span) {
	t.Helper()
	var all strings.Builder
	fmt.Fprint(&all, s.Name(), s.Attrs(), s.Resource, s.Status().Message())
	for i := 0; i < s.Events().Len(); i++ {
		e := s.Events().At(i)
		fmt.Fprint(&all, e.Name(), e.Attributes().AsRaw())
	}
	for i := 0; i < s.Links().Len(); i++ {
		fmt.Fprint(&all, s.Links().At(i).Attributes().AsRaw())
	}
	text := strings.ToLower(all.String())
	for _, bad := range []string{strings.ToLower(promptMarker), strings.ToLower(apiKey), "authorization", "x-api-key", "bearer", "capital of france"} {
		if strings.Contains(text, bad) {
			t.Errorf("a span carries %q: %s", bad, all.String())
		}
	}
}
