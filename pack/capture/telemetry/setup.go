package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// DefaultServiceName is service.name when OTEL_SERVICE_NAME is not set.
const DefaultServiceName = "runid-oci"

// SetupOptions configure Setup. The zero value is valid.
type SetupOptions struct {
	// Logger receives export errors and dropped-span counts.
	// Default: discard.
	Logger *slog.Logger
	// ServiceName is service.name unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES set it. Default: DefaultServiceName.
	ServiceName string
}

// Provider is the TracerProvider Setup made; nil when tracing is off.
type Provider struct {
	*sdktrace.TracerProvider
	dropped *atomic.Int64
}

// Dropped is the number of spans dropped because the export queue was
// full (as of the last export).
func (p *Provider) Dropped() int64 {
	if p == nil {
		return 0
	}
	return p.dropped.Load()
}

// Shutdown exports what is queued and stops exporting.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.TracerProvider.Shutdown(ctx)
}

// Enabled reports whether the environment asks for traces: one of
// OTEL_TRACES_EXPORTER (other than "none"), OTEL_EXPORTER_OTLP_ENDPOINT
// or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set.
func Enabled() bool {
	if os.Getenv("OTEL_SDK_DISABLED") == "true" {
		return false
	}
	if e := os.Getenv("OTEL_TRACES_EXPORTER"); e != "" {
		return e != "none"
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup makes a TracerProvider from OpenTelemetry's environment variables
// (autoexport: OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER,
// OTEL_BSP_MAX_QUEUE_SIZE, ...), installs it as the global one with the
// W3C Trace Context propagator, and returns it; it returns nil, nil when
// Enabled is false. Spans are exported in batches from a bounded queue:
// a span that finds the queue full is dropped, never waited for, so
// exporting never slows or fails a request; drops are counted and logged.
func Setup(ctx context.Context, opts SetupOptions) (*Provider, error) {
	if !Enabled() {
		return nil, nil
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.ServiceName == "" {
		opts.ServiceName = DefaultServiceName
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(opts.ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	envRes, err := resource.New(ctx, resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	if res, err = resource.Merge(res, envRes); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	p := &Provider{TracerProvider: tp, dropped: new(atomic.Int64)}
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("telemetry: exporting spans failed", "error", err)
	}))
	otel.SetLogger(logr.New(&dropSink{log: log, dropped: p.dropped}))
	return p, nil
}

// dropSink reads the batch span processor's drop count from its log
// lines and logs each increase.
type dropSink struct {
	log     *slog.Logger
	dropped *atomic.Int64
}

func (s *dropSink) Init(logr.RuntimeInfo)  {}
func (s *dropSink) Enabled(level int) bool { return true }
func (s *dropSink) Info(level int, msg string, kv ...any) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] != "total_dropped" {
			continue
		}
		var n int64
		switch v := kv[i+1].(type) {
		case uint32:
			n = int64(v)
		case int:
			n = int64(v)
		case int64:
			n = v
		}
		if old := s.dropped.Swap(n); n > old {
			s.log.Warn("telemetry: export queue full, spans dropped", "dropped", n-old, "total", n)
		}
	}
}
func (s *dropSink) Error(err error, msg string, kv ...any) {
	s.log.Warn("telemetry: "+msg, append([]any{"error", err}, kv...)...)
}
func (s *dropSink) WithValues(...any) logr.LogSink { return s }
func (s *dropSink) WithName(string) logr.LogSink   { return s }
