package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack/proxy"
)

// benchClients is how many clients send requests at once.
const benchClients = 16

// benchRequest returns a Chat Completions request body of about 10 KB,
// distinct for each n, so that every request declares a new identity.
func benchRequest(n int64) string {
	filler := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 220)
	return fmt.Sprintf(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You answer questions about the attached report."},`+
		`{"role":"user","content":%q}],"temperature":0.2,"max_tokens":256}`, fmt.Sprintf("Request %d. %s", n, filler))
}

// benchUpstream answers every request with a small completion after
// delay, the time the model takes.
func benchUpstream(b *testing.B, delay time.Duration) *httptest.Server {
	reply := []byte(`{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Done."},"finish_reason":"stop"}],"usage":{"prompt_tokens":2500,"completion_tokens":2,"total_tokens":2502}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if delay > 0 {
			time.Sleep(delay)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// latencies sends total requests to base from benchClients clients at
// once and returns each request's latency.
func latencies(b *testing.B, client *http.Client, base string, total int, next *atomic.Int64) []time.Duration {
	out := make([]time.Duration, total)
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
				out[k] = time.Since(start)
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

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// BenchmarkProxyOverhead measures what the proxy adds to a request: 16
// clients at once send distinct 10 KB Chat Completions requests, first
// directly to an in-process upstream, then through the proxy, which
// declares each identity in an OCI layout before forwarding and records
// each response after. It reports the median and 99th percentile latency
// of both, and their differences: the overhead (targets: under 5 ms and
// 20 ms).
//
// The upstream answers at once (model=0ms), which makes the 16 clients a
// saturation test of the machine: the overhead is then mostly queueing
// for the CPU; or after 200 ms (model=200ms), a fast model, so that the
// overhead is what each request pays. Run it with a fixed count, so that
// the percentiles have enough samples:
//
//	go test -run '^$' -bench ProxyOverhead -benchtime 800x ./pack/proxy
func BenchmarkProxyOverhead(b *testing.B) {
	for _, delay := range []time.Duration{0, 200 * time.Millisecond} {
		b.Run(fmt.Sprintf("model=%dms", delay.Milliseconds()), func(b *testing.B) { benchOverhead(b, delay) })
	}
}

func benchOverhead(b *testing.B, delay time.Duration) {
	up := benchUpstream(b, delay)
	store, err := oci.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	h, err := proxy.New(store, u, proxy.Options{TempDir: b.TempDir()})
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

	b.ResetTimer()
	cpu0 := cpuTime(b)
	direct := latencies(b, client, up.URL, b.N, &next)
	cpu1 := cpuTime(b)
	proxied := latencies(b, client, srv.URL, b.N, &next)
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil { // the records of the last requests
		b.Fatal(err)
	}
	cpu2 := cpuTime(b)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	d50, d99 := percentile(direct, 0.50), percentile(direct, 0.99)
	p50, p99 := percentile(proxied, 0.50), percentile(proxied, 0.99)
	b.ReportMetric(ms(d50), "direct-p50-ms")
	b.ReportMetric(ms(d99), "direct-p99-ms")
	b.ReportMetric(ms(p50), "proxied-p50-ms")
	b.ReportMetric(ms(p99), "proxied-p99-ms")
	b.ReportMetric(ms(p50-d50), "overhead-p50-ms")
	b.ReportMetric(ms(p99-d99), "overhead-p99-ms")
	// The CPU time (user and system, all threads) the proxy adds to a
	// request, records included: what bounds its throughput.
	if cpu2 > 0 {
		b.ReportMetric(ms((cpu2-cpu1)-(cpu1-cpu0))/float64(b.N), "proxy-cpu-ms/req")
	}
}
