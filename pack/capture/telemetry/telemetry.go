// Package telemetry joins OpenTelemetry traces and run identities: spans
// that follow the GenAI semantic conventions and carry the identity
// digest (runid.identity), the output record digest (runid.record) and
// the instance ID (runid.instance), for the recording proxy (Tracer) and
// for harnesses (StartRun). Content is never put on a span: the identity
// the span names holds it.
//
// Setup configures exporting from OpenTelemetry's own environment
// variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
// OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, ...) through autoexport.
package telemetry

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/proxy"
)

// ScopeName is the instrumentation scope of the spans this package makes.
const ScopeName = "github.com/runid/runid-oci"

// Attribute keys of the identity, besides the GenAI semantic conventions.
const (
	// IdentityKey is the identity digest of the run.
	IdentityKey = attribute.Key("runid.identity")
	// RecordKey is the digest of the run's output record.
	RecordKey = attribute.Key("runid.record")
	// InstanceKey is the instanceId fact of the run's output record.
	InstanceKey = attribute.Key("runid.instance")
)

// RequestAttributes are the GenAI request attributes of a request.
func RequestAttributes(r capture.GenAIRequest) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 12)
	if r.Operation != "" {
		kv = append(kv, semconv.GenAIOperationNameKey.String(r.Operation))
	}
	if r.Provider != "" {
		kv = append(kv, semconv.GenAIProviderNameKey.String(r.Provider))
	}
	if r.Model != "" {
		kv = append(kv, semconv.GenAIRequestModelKey.String(r.Model))
	}
	for _, f := range []struct {
		k attribute.Key
		v *float64
	}{
		{semconv.GenAIRequestTemperatureKey, r.Temperature},
		{semconv.GenAIRequestTopPKey, r.TopP},
		{semconv.GenAIRequestTopKKey, r.TopK},
		{semconv.GenAIRequestFrequencyPenaltyKey, r.FrequencyPenalty},
		{semconv.GenAIRequestPresencePenaltyKey, r.PresencePenalty},
	} {
		if f.v != nil {
			kv = append(kv, f.k.Float64(*f.v))
		}
	}
	for _, f := range []struct {
		k attribute.Key
		v *int64
	}{
		{semconv.GenAIRequestMaxTokensKey, r.MaxTokens},
		{semconv.GenAIRequestSeedKey, r.Seed},
		{semconv.GenAIRequestChoiceCountKey, r.ChoiceCount},
	} {
		if f.v != nil {
			kv = append(kv, f.k.Int64(*f.v))
		}
	}
	if len(r.StopSequences) > 0 {
		kv = append(kv, semconv.GenAIRequestStopSequencesKey.StringSlice(r.StopSequences))
	}
	return kv
}

// ResponseAttributes are the GenAI response attributes of a response.
func ResponseAttributes(r capture.GenAIResponse) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 6)
	if r.ID != "" {
		kv = append(kv, semconv.GenAIResponseIDKey.String(r.ID))
	}
	if r.Model != "" {
		kv = append(kv, semconv.GenAIResponseModelKey.String(r.Model))
	}
	if len(r.FinishReasons) > 0 {
		kv = append(kv, semconv.GenAIResponseFinishReasonsKey.StringSlice(r.FinishReasons))
	}
	if r.InputTokens != nil {
		kv = append(kv, semconv.GenAIUsageInputTokensKey.Int64(*r.InputTokens))
	}
	if r.OutputTokens != nil {
		kv = append(kv, semconv.GenAIUsageOutputTokensKey.Int64(*r.OutputTokens))
	}
	if r.CachedInputTokens != nil {
		kv = append(kv, semconv.GenAIUsageCacheReadInputTokensKey.Int64(*r.CachedInputTokens))
	}
	return kv
}

// SpanName is the GenAI span name: "{operation} {model}".
func SpanName(r capture.GenAIRequest) string {
	return strings.TrimSpace(r.Operation + " " + r.Model)
}

// RunOptions configure StartRun. The zero value is valid.
type RunOptions struct {
	// Tracer starts the span. Default: the global TracerProvider's tracer
	// of ScopeName.
	Tracer trace.Tracer
	// Instance is set as runid.instance when not empty.
	Instance string
	// Request, if set, gives the GenAI request attributes and the span
	// name; capture.DescribeRequest makes it from a request body.
	Request *capture.GenAIRequest
	// Kind is the span kind. Default: trace.SpanKindClient.
	Kind trace.SpanKind
}

// StartRun starts a span for one execution of the identity id, as a
// child of the span in ctx, with runid.identity, runid.instance and the
// GenAI request attributes. The caller ends it, after setting
// ResponseAttributes and, once it is written, the output record
// (SetRecord). Put the span's IDs (SpanIDs) in the output record's
// traceId and spanId facts.
func StartRun(ctx context.Context, id digest.Digest, opts RunOptions) (context.Context, trace.Span) {
	tr := opts.Tracer
	if tr == nil {
		tr = otel.GetTracerProvider().Tracer(ScopeName)
	}
	kind := opts.Kind
	if kind == trace.SpanKindUnspecified {
		kind = trace.SpanKindClient
	}
	attrs := []attribute.KeyValue{IdentityKey.String(id.String())}
	if opts.Instance != "" {
		attrs = append(attrs, InstanceKey.String(opts.Instance))
	}
	name := "runid " + id.Encoded()[:12]
	if opts.Request != nil {
		attrs = append(attrs, RequestAttributes(*opts.Request)...)
		if n := SpanName(*opts.Request); n != "" {
			name = n
		}
	}
	return tr.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// SetRecord names the output record of the span's run as runid.record.
// Call it before End (an ended span takes no attributes); a harness that
// writes the record later ends the span with trace.WithTimestamp at the
// run's end after writing it, as the proxy does.
func SetRecord(span trace.Span, record digest.Digest) {
	span.SetAttributes(RecordKey.String(record.String()))
}

// SpanIDs returns the trace ID and span ID of a span as the output
// record's traceId and spanId facts; empty when the span has no valid
// context.
func SpanIDs(span trace.Span) (traceID, spanID string) {
	sc := span.SpanContext()
	if !sc.IsValid() {
		return "", ""
	}
	return sc.TraceID().String(), sc.SpanID().String()
}

// Options configure NewTracer. The zero value is valid.
type Options struct {
	// TracerProvider makes the spans. Default: the global one.
	TracerProvider trace.TracerProvider
	// Propagator reads the incoming and writes the upstream trace
	// context. Default: W3C Trace Context (traceparent, tracestate).
	Propagator propagation.TextMapPropagator
}

// NewTracer makes the proxy's Tracer (proxy.Options.Tracer): a client
// span per recorded request, a child of the client's incoming
// traceparent, passed upstream.
func NewTracer(opts Options) proxy.Tracer {
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	if opts.Propagator == nil {
		opts.Propagator = propagation.TraceContext{}
	}
	return &tracer{tr: opts.TracerProvider.Tracer(ScopeName), prop: opts.Propagator}
}

type tracer struct {
	tr   trace.Tracer
	prop propagation.TextMapPropagator
}

func (t *tracer) Start(ctx context.Context, req proxy.TraceStart) proxy.Span {
	// Only the trace context is read from the client's headers.
	ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(req.Header))
	r := req.Request
	ctx, span := StartRun(ctx, req.Identity, RunOptions{Tracer: t.tr, Instance: req.Instance, Request: &r})
	return &proxySpan{ctx: ctx, span: span, prop: t.prop}
}

type proxySpan struct {
	ctx  context.Context
	span trace.Span
	prop propagation.TextMapPropagator
}

func (s *proxySpan) IDs() (string, string) { return SpanIDs(s.span) }

func (s *proxySpan) Inject(h http.Header) {
	s.prop.Inject(s.ctx, propagation.HeaderCarrier(h))
}

func (s *proxySpan) End(e proxy.TraceEnd) {
	if !s.span.IsRecording() {
		s.span.End()
		return
	}
	s.span.SetAttributes(ResponseAttributes(e.Response)...)
	if e.HTTPStatus != 0 {
		s.span.SetAttributes(semconv.HTTPResponseStatusCode(e.HTTPStatus))
	}
	if e.Record != "" {
		SetRecord(s.span, e.Record)
	}
	if e.Status != "succeeded" {
		s.span.SetAttributes(semconv.ErrorTypeKey.String(errorType(e)))
		s.span.SetStatus(codes.Error, e.Error)
	}
	if e.RecordErr != nil {
		s.span.AddEvent("runid.record.failed", trace.WithTimestamp(e.End))
	}
	s.span.End(trace.WithTimestamp(e.End))
}

// ErrorTypeDenied is the error.type of the span of a request that the
// proxy's policy denied (and never forwarded), as the code of its 403
// answer.
const ErrorTypeDenied = "policy_denied"

// errorType is the error.type attribute of a failed request: policy_denied,
// the HTTP status code, or the record's status.
func errorType(e proxy.TraceEnd) string {
	if len(e.Denied) > 0 {
		return ErrorTypeDenied
	}
	if e.HTTPStatus >= 400 {
		return strconv.Itoa(e.HTTPStatus)
	}
	return e.Status
}
