package proxy_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/runid/runid-oci/internal/fsprobe"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pack/capture/telemetry"
	"github.com/runid/runid-oci/pack/layout"
)

// benchClients is how many clients send requests at once.
const benchClients = 16

// benchDir is where BenchmarkProxyOverhead makes its OCI layout (and
// TempDir). By default it is runid-oci-bench in the user's cache
// directory, not the system's temporary directory, where test suites
// delete thousands of files a minute: on ext4 without a journal that makes
// every new file cost up to a millisecond for minutes after (see
// internal/fsprobe), and the benchmark would measure the test suite that
// ran before it. -benchdir DIR puts it elsewhere, such as a tmpfs
// (-benchdir /dev/shm).
var benchDir = flag.String("benchdir", "", "parent directory of BenchmarkProxyOverhead's OCI layout (default: runid-oci-bench in the user's cache directory)")

// benchParent is the directory benchTempDir makes directories in.
func benchParent(b *testing.B) string {
	if *benchDir != "" {
		return *benchDir
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return os.TempDir()
	}
	dir := filepath.Join(cache, "runid-oci-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchDirs are the directories the benchmarks made, removed by TestMain
// when every benchmark has run, not as each one ends: deleting one
// benchmark's thousands of files can make a new file in the next one cost
// up to 1 ms instead of 20 µs for minutes (see internal/fsprobe), and the
// next one would measure that.
var benchDirs struct {
	sync.Mutex
	list []string
}

func TestMain(m *testing.M) {
	code := m.Run()
	benchDirs.Lock()
	for _, d := range benchDirs.list {
		os.RemoveAll(d)
	}
	benchDirs.Unlock()
	os.Exit(code)
}

// benchTempDir returns a new directory under benchDir, removed when the
// test binary ends.
func benchTempDir(b *testing.B) string {
	dir, err := os.MkdirTemp(benchParent(b), "runid-proxy-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDirs.Lock()
	benchDirs.list = append(benchDirs.list, dir)
	benchDirs.Unlock()
	return dir
}

// benchRequest returns a Chat Completions request body of about 10 KB,
// distinct for each n, so that every request declares a new identity.
func benchRequest(n int64) string {
	filler := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 220)
	return fmt.Sprintf(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You answer questions about the attached report."},`+
		`{"role":"user","content":%q}],"temperature":0.2,"max_tokens":256}`, fmt.Sprintf("Request %d. %s", n, filler))
}

// serviceHeader carries the time the upstream spent on a request, so
// that a client can tell its own wait from the upstream's.
const serviceHeader = "X-Bench-Service"

// benchUpstream answers every request with a small completion, after a
// delay drawn uniformly from [minDelay, maxDelay]: the time the model
// takes. It reports the time it spent in serviceHeader.
func benchUpstream(b *testing.B, minDelay, maxDelay time.Duration) *httptest.Server {
	reply := []byte(`{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Done."},"finish_reason":"stop"}],"usage":{"prompt_tokens":2500,"completion_tokens":2,"total_tokens":2502}}`)
	var mu sync.Mutex
	rnd := rand.New(rand.NewPCG(1, 2))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		delay := minDelay + time.Duration(rnd.Int64N(int64(maxDelay-minDelay)+1))
		mu.Unlock()
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(serviceHeader, strconv.FormatInt(int64(time.Since(start)), 10))
		_, _ = w.Write(reply)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// timing is one request's latency, and the part of it not spent in the
// upstream.
type timing struct{ latency, excess time.Duration }

// latencies sends total requests to base from benchClients clients at
// once and returns their timings.
func latencies(b *testing.B, client *http.Client, base string, total int, next *atomic.Int64) []timing {
	out := make([]timing, total)
	var i atomic.Int64
	var wg sync.WaitGroup
	for range benchClients {
		wg.Go(func() {
			for {
				k := i.Add(1) - 1
				if k >= int64(total) {
					return
				}
				body := benchRequest(next.Add(1))
				start := time.Now()
				res, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat := time.Since(start)
				service, _ := strconv.ParseInt(res.Header.Get(serviceHeader), 10, 64)
				out[k] = timing{lat, lat - time.Duration(service)}
				if res.StatusCode != http.StatusOK {
					b.Errorf("status %d", res.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	return out
}

// percentile returns the p-quantile of what f picks from ts.
func percentile(ts []timing, f func(timing) time.Duration, p float64) time.Duration {
	s := make([]time.Duration, len(ts))
	for i, t := range ts {
		s[i] = f(t)
	}
	return quantile(s, p)
}

// quantile sorts s and returns its p-quantile (p = 1: the greatest).
func quantile(s []time.Duration, p float64) time.Duration {
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// BenchmarkProxyOverhead measures what the proxy adds to a request: 16
// clients at once send distinct 10 KB Chat Completions requests, first
// directly to an in-process upstream, then through the proxy, which
// declares each identity in an OCI layout before forwarding and records
// each response after.
//
// A request's excess is its latency minus the time the upstream spent on
// it (which the upstream reports); the overhead at a percentile is the
// proxied requests' excess minus the direct ones' at that percentile
// (targets: under 5 ms at p50, 20 ms at p99). The latencies of both are
// reported too, the CPU time the proxy adds per request, and the time it
// takes to create a file in the layout just before (file-create-us, see
// internal/fsprobe): each request makes six new files in the layout
// (three for its identity, three for its record), and where a new file
// costs a millisecond instead of 20 µs the overhead follows.
//
// The upstream takes 100 to 300 ms (uniformly; a fast model), or answers
// at once (model=instant), which makes the 16 clients a saturation test:
// the overhead is then mostly queueing for the CPU. Run it with a fixed
// count, so that the percentiles have enough samples:
//
//	go test -run '^$' -bench ProxyOverhead -benchtime 800x ./pack/capture/proxy
//
// The tracing=on rows make a span per request (package
// pack/capture/telemetry) with the SDK's batch span processor and a real
// exporter writing to io.Discard, so that the SDK's cost and the
// encoding of every span are in the figures.
func BenchmarkProxyOverhead(b *testing.B) {
	b.Run("model=100-300ms", func(b *testing.B) { benchOverhead(b, 100*time.Millisecond, 300*time.Millisecond, false) })
	b.Run("model=instant", func(b *testing.B) { benchOverhead(b, 0, 0, false) })
	b.Run("model=100-300ms/tracing=on", func(b *testing.B) { benchOverhead(b, 100*time.Millisecond, 300*time.Millisecond, true) })
	b.Run("model=instant/tracing=on", func(b *testing.B) { benchOverhead(b, 0, 0, true) })
}

// flushProbeInterval is how often the overhead benchmark flushes a file
// beside the layout while the proxied requests run: about 40 flushes a
// second against the proxy's several hundred, so that the probe measures
// the disk without adding much to its work. The probe's writes and
// flushes (about 400 in a run of 800 requests) count in the CPU time the
// proxy is reported to add.
const flushProbeInterval = 25 * time.Millisecond

func benchOverhead(b *testing.B, minDelay, maxDelay time.Duration, tracing bool) {
	up := benchUpstream(b, minDelay, maxDelay)
	dir := benchTempDir(b)
	store, err := layout.Open(context.Background(), dir, layout.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	opts := proxy.Options{TempDir: benchTempDir(b)}
	if tracing {
		exp, err := stdouttrace.New(stdouttrace.WithWriter(io.Discard))
		if err != nil {
			b.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
		defer tp.Shutdown(context.Background())
		opts.Tracer = telemetry.NewTracer(telemetry.Options{TracerProvider: tp})
	}
	h, err := proxy.New(store, u, opts)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchClients}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	// Warm up connections and code paths.
	latencies(b, client, up.URL, benchClients, &next)
	latencies(b, client, srv.URL, benchClients, &next)

	// Where the layout store creates each new file before renaming it
	// into blobs/.
	ingest := filepath.Join(dir, ".runid", "tmp")
	if err := os.MkdirAll(ingest, 0o755); err != nil {
		b.Fatal(err)
	}
	create, err := fsprobe.CreateCost(ingest, benchTempDir(b))
	if err != nil {
		b.Fatal(err)
	}
	if create > fsprobe.Slow {
		b.Logf("a new file in %s costs %s (usually 10-20 µs): the file system is skipping recently freed inodes, and this run measures that too (see internal/fsprobe)", dir, create)
	}

	b.ResetTimer()
	cpu0 := cpuTime(b)
	direct := latencies(b, client, up.URL, b.N, &next)
	cpu1 := cpuTime(b)
	// What a flush costs on the layout's file system while the proxy
	// works: each request waits for a flush of the store's journal, and a
	// flush that stalls delays every request waiting at that moment.
	probe, err := fsprobe.StartFlushProbe(benchTempDir(b), flushProbeInterval)
	if err != nil {
		b.Fatal(err)
	}
	proxied := latencies(b, client, srv.URL, b.N, &next)
	flushes, err := probe.Stop()
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil { // the records of the last requests
		b.Fatal(err)
	}
	cpu2 := cpuTime(b)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	latency := func(t timing) time.Duration { return t.latency }
	excess := func(t timing) time.Duration { return t.excess }
	b.ReportMetric(float64(create)/float64(time.Microsecond), "file-create-us")
	if len(flushes) > 0 {
		b.ReportMetric(ms(quantile(flushes, 0.99)), "flush-p99-ms")
		b.ReportMetric(ms(quantile(flushes, 1)), "flush-max-ms")
	}
	b.ReportMetric(ms(percentile(direct, latency, 0.50)), "direct-p50-ms")
	b.ReportMetric(ms(percentile(direct, latency, 0.99)), "direct-p99-ms")
	b.ReportMetric(ms(percentile(proxied, latency, 0.50)), "proxied-p50-ms")
	b.ReportMetric(ms(percentile(proxied, latency, 0.99)), "proxied-p99-ms")
	b.ReportMetric(ms(percentile(proxied, excess, 0.50)-percentile(direct, excess, 0.50)), "overhead-p50-ms")
	b.ReportMetric(ms(percentile(proxied, excess, 0.99)-percentile(direct, excess, 0.99)), "overhead-p99-ms")
	// The CPU time (user and system, all threads) the proxy adds to a
	// request, records included: what bounds its throughput.
	if cpu2 > 0 {
		b.ReportMetric(ms((cpu2-cpu1)-(cpu1-cpu0))/float64(b.N), "proxy-cpu-ms/req")
	}
}

// BenchmarkProxyMemory measures the proxy's heap over a long run into a
// durable OCI layout (pack/layout): 16 clients send b.N distinct requests
// to an upstream that answers at once, after 1,000 to warm up. It reports
// the heap in use after the run (after a GC) and its growth per request,
// which stays flat when nothing grows with the layout.
//
//	go test -run '^$' -bench ProxyMemory -benchtime 20000x ./pack/proxy
func BenchmarkProxyMemory(b *testing.B) {
	up := benchUpstream(b, 0, 0)
	dir := benchTempDir(b)
	store, err := layout.Open(context.Background(), dir, layout.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	h, err := proxy.New(store, u, proxy.Options{TempDir: benchTempDir(b)})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchClients}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	latencies(b, client, srv.URL, 1000, &next)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	heap0 := heap()
	b.ResetTimer()
	start := time.Now()
	half := b.N / 2
	latencies(b, client, srv.URL, half, &next)
	heapMid := heap()
	latencies(b, client, srv.URL, b.N-half, &next)
	elapsed := time.Since(start)
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	heap1 := heap()
	b.ReportMetric(float64(heap1)/(1<<20), "heap-MiB")
	b.ReportMetric((float64(heap1)-float64(heap0))/float64(b.N), "heap-B/req")
	if b.N-half > 0 {
		b.ReportMetric((float64(heap1)-float64(heapMid))/float64(b.N-half), "heap-2nd-half-B/req")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}
