package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const proxyOutput = `goos: linux
goarch: amd64
pkg: github.com/runid/runid-oci/pack/capture/proxy
cpu: AMD EPYC
BenchmarkProxyOverhead/model=100-300ms-2         	     800	  25785027 ns/op	       203.6 direct-p50-ms	       298.9 direct-p99-ms	        20.5 file-create-us	         3.074 overhead-p50-ms	        14.18 overhead-p99-ms	       204.2 proxied-p50-ms	       302.6 proxied-p99-ms	         3.664 proxy-cpu-ms/req	         4.5 flush-p99-ms	         30.0 flush-max-ms
BenchmarkProxyOverhead/model=100-300ms-2         	     800	  25785027 ns/op	       203.6 direct-p50-ms	       298.9 direct-p99-ms	        310.0 file-create-us	         6.5 overhead-p50-ms	        24.0 overhead-p99-ms	       204.2 proxied-p50-ms	       302.6 proxied-p99-ms	         6.1 proxy-cpu-ms/req	         6.0 flush-p99-ms	         150.0 flush-max-ms
BenchmarkProxyOverhead/model=100-300ms/tracing=on-2         	     800	  25785027 ns/op	       203.6 direct-p50-ms	       298.9 direct-p99-ms	        21.0 file-create-us	         3.5 overhead-p50-ms	        15.0 overhead-p99-ms	       204.2 proxied-p50-ms	       302.6 proxied-p99-ms	         3.9 proxy-cpu-ms/req
BenchmarkProxyOverhead/model=100-300ms/tracing=on-2         	     800	  25785027 ns/op	       203.6 direct-p50-ms	       298.9 direct-p99-ms	        21.0 file-create-us	         7.0 overhead-p50-ms	        25.0 overhead-p99-ms	       204.2 proxied-p50-ms	       302.6 proxied-p99-ms	         6.5 proxy-cpu-ms/req
BenchmarkProxyOverhead/model=100-300ms/tracing=on-2         	     800	  25785027 ns/op	       203.6 direct-p50-ms	       298.9 direct-p99-ms	        21.0 file-create-us	         4.5 overhead-p50-ms	        17.0 overhead-p99-ms	       204.2 proxied-p50-ms	       302.6 proxied-p99-ms	         4.2 proxy-cpu-ms/req
BenchmarkProxyOverhead/model=instant-2           	     800	   3219717 ns/op	         1.234 direct-p50-ms	         4.534 direct-p99-ms	        13.0 file-create-us	        45.67 overhead-p50-ms	        90.73 overhead-p99-ms	        46.94 proxied-p50-ms	       95.26 proxied-p99-ms	         5.607 proxy-cpu-ms/req
BenchmarkProxyOverhead/model=100-300ms-2         	     800	  25785027 ns/op	       203.6 direct-p50-ms	       298.9 direct-p99-ms	        25.0 file-create-us	         4.0 overhead-p50-ms	        16.0 overhead-p99-ms	       204.2 proxied-p50-ms	       302.6 proxied-p99-ms	         4.0 proxy-cpu-ms/req	         5.0 flush-p99-ms	         25.0 flush-max-ms
PASS
ok  	github.com/runid/runid-oci/pack/capture/proxy	80.1s
`

func TestParseProxyBench(t *testing.T) {
	runs := parseProxyBench(proxyOutput)
	if len(runs) != 3 {
		t.Fatalf("parsed %d runs of %s, want 3 (the instant model is another benchmark)", len(runs), proxyBenchmark)
	}
	if got := runs[0]["overhead-p99-ms"]; got != 14.18 {
		t.Errorf("first run's overhead-p99-ms = %v, want 14.18", got)
	}
	if got := runs[1][tracedPrefix+"overhead-p50-ms"]; got != 7.0 {
		t.Errorf("second run's traced overhead-p50-ms = %v, want 7.0", got)
	}
	tests := []struct {
		metric      string
		med, lo, hi float64
	}{
		{"overhead-p50-ms", 4.0, 3.074, 6.5},
		{"overhead-p99-ms", 16.0, 14.18, 24.0},
		{"file-create-us", 25.0, 20.5, 310.0},
		{"absent", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.metric, func(t *testing.T) {
			med, lo, hi := medianRange(runs, tc.metric)
			if med != tc.med || lo != tc.lo || hi != tc.hi {
				t.Errorf("medianRange = %v (%v–%v), want %v (%v–%v)", med, lo, hi, tc.med, tc.lo, tc.hi)
			}
		})
	}
	if med, _, _ := medianRange(runs[:2], "overhead-p50-ms"); med != (3.074+6.5)/2 {
		t.Errorf("median of two = %v, want their mean", med)
	}
}

func TestWriteProxyTable(t *testing.T) {
	var b strings.Builder
	writeProxyTable(&b, parseProxyBench(proxyOutput), "/data/layouts")
	out := b.String()
	for _, want := range []string{
		"OCI layout in /data/layouts",
		"| overhead at the median, durability on | 4.0 ms (3.1–6.5) | < 5 ms | yes |",
		"| overhead at the 99th percentile, durability on | 16.0 ms (14.2–24.0) | < 20 ms | yes |",
		"| overhead at the median, durability on, tracing on | 4.5 ms (3.5–7.0) | < 5 ms | yes |",
		"| overhead at the 99th percentile, durability on, tracing on | 17.0 ms (15.0–25.0) | < 20 ms | yes |",
		"| CPU time the proxy adds per request, tracing on | 4.2 ms (3.9–6.5) |",
		"| creating one file where the layout is | 25.0 µs (20.5–310.0) |",
		"| flushing a file there while the proxied requests run, 99th percentile | 5.0 ms (4.5–6.0) | — | (reference) |",
		"| flushing a file there while the proxied requests run, slowest | 30.0 ms (25.0–150.0) | — | (reference) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	var old strings.Builder
	writeProxyTable(&old, parseBenchLines(strings.ReplaceAll(proxyOutput, "flush-", "other-"), proxyBenchmark), "/data/layouts")
	if strings.Contains(old.String(), "flushing a file") {
		t.Errorf("a run without the flush probe's figures shows flush rows:\n%s", old.String())
	}
	var missed strings.Builder
	writeProxyTable(&missed, parseProxyBench(proxyOutput)[1:2], "/data/layouts")
	if got := strings.Count(missed.String(), "**no**"); got != 4 {
		t.Errorf("a run at 6.5 / 24.0 ms, 7.0 / 25.0 ms traced, shows %d targets missed, want 4:\n%s", got, missed.String())
	}
}

func TestSettle(t *testing.T) {
	probes := func(t *testing.T, dir string) int {
		m, err := filepath.Glob(filepath.Join(dir, "create-cost-*"))
		if err != nil {
			t.Fatal(err)
		}
		return len(m)
	}
	var logs []string
	logf := func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }

	t.Run("normal at once", func(t *testing.T) {
		dir := t.TempDir()
		cost, err := settle(context.Background(), dir, time.Hour, time.Hour, time.Hour, logf)
		if err != nil || cost <= 0 {
			t.Fatalf("settle = %s, %v; want a positive cost", cost, err)
		}
		if n := probes(t, dir); n != 1 {
			t.Errorf("%d probes, want 1", n)
		}
	})
	t.Run("never normal, gives up after wait", func(t *testing.T) {
		dir := t.TempDir()
		logs = nil
		cost, err := settle(context.Background(), dir, 0, 50*time.Millisecond, 10*time.Millisecond, logf)
		if err != nil || cost <= 0 {
			t.Fatalf("settle = %s, %v; want the last cost and no error", cost, err)
		}
		if n := probes(t, dir); n < 2 {
			t.Errorf("%d probes, want several", n)
		}
		if len(logs) == 0 || !strings.Contains(logs[len(logs)-1], "measuring anyway") {
			t.Errorf("last log %q, want it to say it measures anyway", logs)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := settle(ctx, t.TempDir(), 0, time.Hour, time.Millisecond, logf); !errors.Is(err, context.Canceled) {
			t.Fatalf("settle with a cancelled context: %v, want context.Canceled", err)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		if _, err := settle(context.Background(), filepath.Join(t.TempDir(), "absent"), time.Hour, time.Hour, time.Hour, logf); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("settle in a missing directory: %v, want fs.ErrNotExist", err)
		}
	})
}
