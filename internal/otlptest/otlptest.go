// Package otlptest starts the OpenTelemetry Collector's OTLP receiver in a
// test, on loopback, over OTLP/gRPC and OTLP/HTTP, and collects the spans
// it receives. Only tests import it, so the collector stays out of the
// library's dependency graph.
package otlptest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// Collector is a running OTLP receiver.
type Collector struct {
	// GRPCEndpoint is host:port of the OTLP/gRPC endpoint.
	GRPCEndpoint string
	// HTTPEndpoint is the base URL of the OTLP/HTTP endpoint
	// (http://host:port, traces at /v1/traces).
	HTTPEndpoint string
	sink         *consumertest.TracesSink
}

// Start starts a receiver for the test on free loopback ports; it stops
// when the test ends.
func Start(t testing.TB) *Collector {
	t.Helper()
	c, err := StartOn(t, freeAddr(t), freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// StartOn starts a receiver for the test listening for OTLP/gRPC on
// grpcAddr and OTLP/HTTP on httpAddr (host:port); it stops when the test
// ends. It fails when an address cannot be listened on.
func StartOn(t testing.TB, grpcAddr, httpAddr string) (*Collector, error) {
	t.Helper()
	for _, a := range []string{grpcAddr, httpAddr} {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return nil, err
		}
		ln.Close()
	}
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	g := cfg.Protocols.GRPC.GetOrInsertDefault()
	g.NetAddr.Endpoint = grpcAddr
	h := cfg.Protocols.HTTP.GetOrInsertDefault()
	h.ServerConfig.NetAddr.Endpoint = httpAddr
	sink := new(consumertest.TracesSink)
	r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		return nil, fmt.Errorf("otlpreceiver: %w", err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		return nil, fmt.Errorf("otlpreceiver start: %w", err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return &Collector{GRPCEndpoint: grpcAddr, HTTPEndpoint: "http://" + httpAddr, sink: sink}, nil
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Span is one received span with its resource.
type Span struct {
	ptrace.Span
	Resource map[string]any
	Scope    string
}

// Attrs returns the span's attributes as Go values.
func (s Span) Attrs() map[string]any { return s.Attributes().AsRaw() }

// Spans returns every span received so far.
func (c *Collector) Spans() []Span {
	var out []Span
	for _, td := range c.sink.AllTraces() {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			rs := rss.At(i)
			res := rs.Resource().Attributes().AsRaw()
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					out = append(out, Span{Span: ss.Spans().At(k), Resource: res, Scope: ss.Scope().Name()})
				}
			}
		}
	}
	return out
}

// WaitSpans waits until at least n spans were received, or fails the test
// after timeout.
func (c *Collector) WaitSpans(t testing.TB, n int, timeout time.Duration) []Span {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if s := c.Spans(); len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector received %d spans in %v, want %d", len(c.Spans()), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
