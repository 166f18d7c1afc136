package otlptest_test

import (
	"context"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel"

	"github.com/runid/runid-oci/internal/otlptest"
	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/telemetry"
)

// TestStartRun: a harness's span, made in one call under its own parent
// span, reaches the collector with the identity and GenAI attributes.
func TestStartRun(t *testing.T) {
	col := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.HTTPEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	tp, err := telemetry.Setup(context.Background(), telemetry.SetupOptions{})
	if err != nil || tp == nil {
		t.Fatalf("Setup = %v, %v", tp, err)
	}
	defer tp.Shutdown(context.Background())

	id := digest.FromString("an identity manifest")
	record := digest.FromString("an output record")
	req, err := capture.DescribeRequest(capture.FormatAnthropicMessages, []byte(`{"model":"claude-x","max_tokens":9,"temperature":0,"messages":[{"role":"user","content":"`+promptMarker+`"}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := otel.Tracer("harness").Start(context.Background(), "agent step")
	_, span := telemetry.StartRun(ctx, id, telemetry.RunOptions{Instance: "run-1", Request: &req})
	tid, sid := telemetry.SpanIDs(span)
	telemetry.SetRecord(span, record)
	span.End()
	parent.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, s := range col.WaitSpans(t, 2, 10*time.Second) {
		if s.Name() != "chat claude-x" {
			continue
		}
		checkNoContent(t, s)
		a := s.Attrs()
		want := map[string]any{"runid.identity": id.String(), "runid.record": record.String(), "runid.instance": "run-1",
			"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-x",
			"gen_ai.request.max_tokens": int64(9), "gen_ai.request.temperature": 0.0}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("%s = %v, want %v", k, a[k], v)
			}
		}
		if s.TraceID().String() != tid || s.SpanID().String() != sid || s.Kind() != ptrace.SpanKindClient {
			t.Errorf("span %s/%s kind %v; want %s/%s, client", s.TraceID(), s.SpanID(), s.Kind(), tid, sid)
		}
		if s.ParentSpanID().String() != parent.SpanContext().SpanID().String() {
			t.Errorf("parent %s, want the harness's span %s", s.ParentSpanID(), parent.SpanContext().SpanID())
		}
		return
	}
	t.Fatal("the collector did not receive the run's span")
}
