package proxy

import (
	"context"
	"net/http"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/pack/capture"
)

// Tracer starts a span for each recorded request. Package
// pack/capture/telemetry makes one from an OpenTelemetry TracerProvider;
// this package does not depend on OpenTelemetry. A Tracer must be safe
// for concurrent use and must not block: exporting is its business.
type Tracer interface {
	// Start is called once the request's identity is declared, just
	// before it is forwarded (or, when Options.Decide denied it, answered
	// with 403), from the goroutine serving it.
	Start(ctx context.Context, req TraceStart) Span
}

// TraceStart describes a recorded request to Tracer.Start. It holds no
// content: no prompt, no header value other than the trace context.
type TraceStart struct {
	// Header is the client's request header, read-only: a Tracer reads
	// its W3C trace context (traceparent, tracestate) and nothing else.
	Header http.Header
	// Format is the importer format of the request.
	Format string
	// Request holds the GenAI request attributes (model, parameters).
	Request capture.GenAIRequest
	// Identity is the identity digest declared for the request.
	Identity digest.Digest
	// Instance is the instanceId fact of its output record.
	Instance string
	// Start is when the request was received.
	Start time.Time
}

// Span is the span of one recorded request.
type Span interface {
	// IDs returns the span's trace ID and span ID as lower-case hex, or
	// empty strings when it has none; they become the output record's
	// traceId and spanId facts.
	IDs() (traceID, spanID string)
	// Inject writes the span's trace context into the header of the
	// request sent upstream.
	Inject(h http.Header)
	// End ends the span, once the output record is attached (or failed
	// to be), at TraceEnd.End, when the response ended.
	End(TraceEnd)
}

// TraceEnd is how a recorded request ended, given to Span.End.
type TraceEnd struct {
	// End is when the response ended.
	End time.Time
	// Status is the status fact: succeeded, failed or cancelled.
	Status string
	// HTTPStatus is the upstream's status code, or 0 if it did not answer.
	HTTPStatus int
	// Error is the error fact, empty when the request succeeded.
	Error string
	// Denied holds Options.Decide's reasons when it denied the request,
	// which was then never forwarded (the record's denied fact).
	Denied []string
	// Response holds the GenAI response attributes read from the
	// recorded response (id, model, finish reasons, usage).
	Response capture.GenAIResponse
	// Record is the output record's digest; empty when it could not be
	// attached (RecordErr says why).
	Record    digest.Digest
	RecordErr error
}
