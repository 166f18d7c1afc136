package otlptest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"oras.land/oras-go/v2/content/memory"

	"github.com/runid/runid-oci/internal/otlptest"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pack/capture/telemetry"
	"github.com/runid/runid-oci/spec"
)

const denyReason = "temperature above 0.2 is not allowed"

// TestDeniedSpan: a request the proxy's policy denies is never forwarded,
// and its span reaches the collector as an error span with the denial
// reason (and no content), the identity and the output record, inside
// the client's trace; the record names the span.
func TestDeniedSpan(t *testing.T) {
	col := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.HTTPEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "policy-proxy")
	tp, err := telemetry.Setup(context.Background(), telemetry.SetupOptions{})
	if err != nil || tp == nil {
		t.Fatalf("Setup = %v, %v; want a provider", tp, err)
	}
	defer tp.Shutdown(context.Background())

	var upstreamCalls atomic.Int64
	upSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamCalls.Add(1)
		http.Error(w, "a denied request reached the upstream", http.StatusTeapot)
	}))
	defer upSrv.Close()
	upURL, _ := url.Parse(upSrv.URL)
	var mu sync.Mutex
	var records []proxy.Record
	h, err := proxy.New(memory.New(), upURL, proxy.Options{
		Tracer:   telemetry.NewTracer(telemetry.Options{TracerProvider: tp}),
		OnRecord: func(r proxy.Record) { mu.Lock(); records = append(records, r); mu.Unlock() },
		Decide: func(_ context.Context, comp *pack.Composition) proxy.Decision {
			return proxy.Decision{Reasons: []string{denyReason}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	ex := requests()[0]
	req, _ := http.NewRequest(http.MethodPost, srv.URL+ex.path, strings.NewReader(ex.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Traceparent", incomingTP)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), denyReason) {
		t.Fatalf("status %d %s, want 403 with the reason", res.StatusCode, body)
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := upstreamCalls.Load(); n != 0 {
		t.Fatalf("the upstream was called %d times for a denied request", n)
	}
	spans := col.WaitSpans(t, 1, 10*time.Second)
	if len(spans) != 1 || len(records) != 1 {
		t.Fatalf("%d spans and %d records, want one of each", len(spans), len(records))
	}
	s, rec := spans[0], records[0]
	attrs := s.Attrs()
	checkNoContent(t, s)
	checkRequest(t, attrs, ex)
	if s.Status().Code() != ptrace.StatusCodeError || !strings.Contains(s.Status().Message(), denyReason) {
		t.Errorf("status %v %q, want an error with the denial reason", s.Status().Code(), s.Status().Message())
	}
	if attrs["error.type"] != telemetry.ErrorTypeDenied {
		t.Errorf("error.type %v, want %s", attrs["error.type"], telemetry.ErrorTypeDenied)
	}
	if _, ok := attrs["http.response.status_code"]; ok {
		t.Errorf("http.response.status_code %v on a request that never went upstream", attrs["http.response.status_code"])
	}
	if s.TraceID().String() != incomingTID || s.ParentSpanID().String() != incomingPID {
		t.Errorf("span %s/%s, parent %s: want a child of the incoming traceparent", s.TraceID(), s.SpanID(), s.ParentSpanID())
	}
	if s.Resource["service.name"] != "policy-proxy" {
		t.Errorf("service.name %v", s.Resource["service.name"])
	}
	// Span and record name each other.
	if attrs["runid.identity"] != rec.Identity.String() || rec.Identity == "" {
		t.Errorf("runid.identity %v, want %s", attrs["runid.identity"], rec.Identity)
	}
	if rec.Output == "" || attrs["runid.record"] != rec.Output.String() {
		t.Errorf("runid.record %v, want the output record %s (%v)", attrs["runid.record"], rec.Output, rec.Err)
	}
	if attrs["runid.instance"] != rec.InstanceID {
		t.Errorf("runid.instance %v, want %s", attrs["runid.instance"], rec.InstanceID)
	}
	if rec.Facts[spec.FactTraceID] != s.TraceID().String() || rec.Facts[spec.FactSpanID] != s.SpanID().String() {
		t.Errorf("record traceId/spanId %v/%v, want %s/%s", rec.Facts[spec.FactTraceID], rec.Facts[spec.FactSpanID], s.TraceID(), s.SpanID())
	}
	if rec.Status != spec.StatusFailed {
		t.Errorf("record status %s, want failed", rec.Status)
	}
	if d, _ := rec.Facts[proxy.FactDenied].([]string); len(d) != 1 || d[0] != denyReason {
		t.Errorf("record denied fact %v, want [%s]", rec.Facts[proxy.FactDenied], denyReason)
	}
	if err := spec.CheckExecution(rec.Facts); err != nil {
		t.Errorf("record facts: %v", err)
	}
}
