package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pack/capture/telemetry"
)

// BenchmarkProxySpan is what tracing adds to one proxied request: the
// span started from the incoming traceparent, injected upstream and ended
// with the response attributes, through the SDK's batch span processor
// to a real exporter writing to io.Discard.
//
//	go test -run '^$' -bench ProxySpan -benchmem ./pack/capture/telemetry
func BenchmarkProxySpan(b *testing.B) {
	exp, err := stdouttrace.New(stdouttrace.WithWriter(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	defer tp.Shutdown(context.Background())
	tr := telemetry.NewTracer(telemetry.Options{TracerProvider: tp})
	in := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	body := []byte(`{"model":"gpt-4o-mini","temperature":0.3,"max_tokens":50,"messages":[{"role":"user","content":"hello"}]}`)
	in64 := func(n int64) *int64 { return &n }
	res := capture.GenAIResponse{ID: "chatcmpl-1", Model: "gpt-4o-mini-2024-07-18", FinishReasons: []string{"stop"}, InputTokens: in64(19), OutputTokens: in64(10), CachedInputTokens: in64(0)}
	id, rec := digest.FromString("identity"), digest.FromString("record")
	b.ReportAllocs()
	for b.Loop() {
		req, _ := capture.DescribeRequest(capture.FormatOpenAIChat, body, "")
		s := tr.Start(context.Background(), proxy.TraceStart{Header: in, Format: capture.FormatOpenAIChat, Request: req, Identity: id, Instance: "i", Start: time.Now()})
		out := http.Header{}
		s.Inject(out)
		_, _ = s.IDs()
		s.End(proxy.TraceEnd{End: time.Now(), Status: "succeeded", HTTPStatus: 200, Response: res, Record: rec})
	}
}
