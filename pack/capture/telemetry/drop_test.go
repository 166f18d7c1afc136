package telemetry_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"oras.land/oras-go/v2/content/memory"

	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pack/capture/telemetry"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestExportNeverSlowsRequests: with a collector that accepts connections
// and never answers, and an export queue of two spans, every request
// through the proxy is served at once and recorded; the spans that do not
// fit are dropped, counted (Provider.Dropped) and logged as a warning.
func TestExportNeverSlowsRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "300")
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "2")
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
	t.Setenv("OTEL_BSP_EXPORT_TIMEOUT", "300")
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tp, err := telemetry.Setup(context.Background(), telemetry.SetupOptions{Logger: logger})
	if err != nil || tp == nil {
		t.Fatalf("Setup = %v, %v", tp, err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = tp.Shutdown(ctx)
	}()

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`)
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	var recorded sync.WaitGroup
	h, err := proxy.New(memory.New(), u, proxy.Options{
		Tracer:   telemetry.NewTracer(telemetry.Options{TracerProvider: tp}),
		OnRecord: func(r proxy.Record) { recorded.Done() },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	const requests = 40
	var slowest time.Duration
	began := time.Now()
	for i := range requests {
		recorded.Add(1)
		body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"question ` + strings.Repeat("x", i) + `"}]}`
		start := time.Now()
		res, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d", i, res.StatusCode)
		}
		slowest = max(slowest, time.Since(start))
	}
	elapsed := time.Since(began)
	recorded.Wait()
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Requests that waited for the export (one span per batch, each
	// export timing out after 300 ms) would take 12 s at least.
	if elapsed > requests*300*time.Millisecond/2 {
		t.Errorf("%d requests took %s with a collector that never answers (slowest %s)", requests, elapsed, slowest)
	}
	// The count is read from the processor's log line of each export, so
	// it catches up one export (300 ms) at a time. Not dropped: the queue
	// (2) and one span per export attempt (each times out after 300 ms)
	// while the requests were sent.
	want := max(1, requests-int(elapsed/(300*time.Millisecond))-4)
	deadline := time.Now().Add(15 * time.Second)
	for tp.Dropped() < int64(want) || !strings.Contains(logs.String(), "spans dropped") {
		if time.Now().After(deadline) {
			t.Fatalf("dropped %d of %d spans, want %d at least, with a queue of 2 and a collector that never answers; log:\n%s", tp.Dropped(), requests, want, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d requests in %s, slowest %s; %d spans dropped", requests, elapsed, slowest, tp.Dropped())
}
