package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runid/runid-oci/internal/fsprobe"
)

// proxyBenchmark is the sub-benchmark of pack/capture/proxy's
// BenchmarkProxyOverhead that the overhead targets are about: a model that
// takes 100 to 300 ms, into a durable OCI layout (pack/layout: each
// identity's manifest and blobs flushed in the store's journal before the
// request is forwarded, index.json committed in the background).
const proxyBenchmark = "BenchmarkProxyOverhead/model=100-300ms"

// tracedBenchmark is the same with a span per request (the OpenTelemetry
// SDK's batch span processor and a real exporter); its metrics are kept
// in the run under tracedPrefix.
const (
	tracedBenchmark = proxyBenchmark + "/tracing=on"
	tracedPrefix    = "tracing/"
)

// proxyRequests is how many requests each run sends directly and then
// through the proxy (-benchtime): enough for a 99th percentile of 8.
const proxyRequests = 800

// proxyTargets are the targets for the proxy's overhead, in ms
// (docs/proxy.md).
var proxyTargets = []struct {
	metric, label string
	below         float64
}{
	{"overhead-p50-ms", "overhead at the median", 5},
	{"overhead-p99-ms", "overhead at the 99th percentile", 20},
}

// settle waits until creating a file in dir costs less than normal,
// probing every interval, for at most wait (but twice at least, so that a
// slow first probe is not the only one); it returns the last cost
// measured. Each probe leaves fsprobe.Files empty files in dir.
func settle(ctx context.Context, dir string, normal, wait, interval time.Duration, logf func(string, ...any)) (time.Duration, error) {
	deadline := time.Now().Add(wait)
	for n := 1; ; n++ {
		probe, err := os.MkdirTemp(dir, "create-cost-")
		if err != nil {
			return 0, fmt.Errorf("file creation probe: %w", err)
		}
		cost, err := fsprobe.CreateCost(probe, "")
		if err != nil || cost < normal {
			return cost, err
		}
		if n >= 2 && !time.Now().Add(interval).Before(deadline) {
			logf("a new file in %s still costs %s after waiting %s; measuring anyway", dir, cost, wait)
			return cost, nil
		}
		logf("a new file in %s costs %s (normal: under %s; the file system is skipping recently freed inodes): waiting %s", dir, cost, normal, interval)
		select {
		case <-ctx.Done():
			return cost, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// proxyRun is one run of the proxy benchmark: its metrics by unit
// ("overhead-p50-ms", "file-create-us", ...).
type proxyRun map[string]float64

// runProxyBench runs the proxy benchmark runs times in one test process
// (so that no run's clean-up deletes files before another: see
// fileCreateCost in pack/capture/proxy), with its OCI layout below dir, and
// returns each run's metrics. The go command's output goes to log.
func runProxyBench(ctx context.Context, root, dir string, runs int, log io.Writer) ([]proxyRun, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$",
		"-bench", "^BenchmarkProxyOverhead$/^model=100-300ms$",
		"-benchtime", strconv.Itoa(proxyRequests)+"x", "-count", strconv.Itoa(runs),
		"./pack/capture/proxy", "-args", "-benchdir", dir)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, log), log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench ProxyOverhead: %w", err)
	}
	got := parseProxyBench(out.String())
	if len(got) != runs {
		return nil, fmt.Errorf("go test -bench ProxyOverhead: %d results of %s, want %d", len(got), proxyBenchmark, runs)
	}
	return got, nil
}

// parseProxyBench reads the result lines of proxyBenchmark from go test
// output, each run with the metrics of the tracedBenchmark run of the same
// rank under tracedPrefix.
func parseProxyBench(out string) []proxyRun {
	runs := parseBenchLines(out, proxyBenchmark)
	for i, t := range parseBenchLines(out, tracedBenchmark) {
		if i < len(runs) {
			for k, v := range t {
				runs[i][tracedPrefix+k] = v
			}
		}
	}
	return runs
}

// parseBenchLines reads the result lines of benchmark name from go test
// output: name (with its -GOMAXPROCS suffix), iterations, then value-unit
// pairs.
func parseBenchLines(out, name string) []proxyRun {
	var runs []proxyRun
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || (f[0] != name && !isProcsSuffixed(f[0], name)) {
			continue
		}
		r := proxyRun{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				r[f[i+1]] = v
			}
		}
		runs = append(runs, r)
	}
	return runs
}

// isProcsSuffixed reports whether s is name followed by -N, the
// GOMAXPROCS suffix of a benchmark's result line.
func isProcsSuffixed(s, name string) bool {
	n, ok := strings.CutPrefix(s, name+"-")
	if !ok || n == "" {
		return false
	}
	_, err := strconv.Atoi(n)
	return err == nil
}

// medianRange is the median, least and greatest of a metric over runs.
func medianRange(runs []proxyRun, metric string) (med, lo, hi float64) {
	v := make([]float64, 0, len(runs))
	for _, r := range runs {
		v = append(v, r[metric])
	}
	if len(v) == 0 {
		return 0, 0, 0
	}
	med = medianOf(v) // sorts v
	return med, v[0], v[len(v)-1]
}

// writeProxyTable writes the proxy's results as a Markdown table: each
// target's metric (median and range over the runs), then the proxy's CPU
// time per request, the cost of a new file where the layout was, and what
// a flush cost there while the proxied requests ran.
func writeProxyTable(w io.Writer, runs []proxyRun, dir string) {
	fmt.Fprintf(w, "Recording proxy: 16 clients at once, distinct 10 KB Chat Completions requests, a model taking 100–300 ms, "+
		"OCI layout in %s (durable: each identity's manifest and blobs flushed in the store's journal before the request is forwarded, index.json committed in the background), without and with tracing (a span per request, batched, encoded by a real exporter); "+
		"%d requests direct then %d proxied per run, %d runs in one process: median (least–greatest).\n\n",
		dir, proxyRequests, proxyRequests, len(runs))
	fmt.Fprintln(w, "| measure | runid-oci proxy | target | met |")
	fmt.Fprintln(w, "|---|---:|---|---|")
	num := func(metric string, unit string) string {
		med, lo, hi := medianRange(runs, metric)
		return fmt.Sprintf("%.1f %s (%.1f–%.1f)", med, unit, lo, hi)
	}
	for _, t := range proxyTargets {
		med, _, _ := medianRange(runs, t.metric)
		fmt.Fprintf(w, "| %s, durability on | %s | < %g ms | %s |\n", t.label, num(t.metric, "ms"), t.below, yesNo(med < t.below))
	}
	traced := len(runs) > 0
	for _, r := range runs {
		if _, ok := r[tracedPrefix+proxyTargets[0].metric]; !ok {
			traced = false
		}
	}
	if traced {
		for _, t := range proxyTargets {
			med, _, _ := medianRange(runs, tracedPrefix+t.metric)
			fmt.Fprintf(w, "| %s, durability on, tracing on | %s | < %g ms | %s |\n", t.label, num(tracedPrefix+t.metric, "ms"), t.below, yesNo(med < t.below))
		}
	}
	fmt.Fprintf(w, "| CPU time the proxy adds per request | %s | — | (reference) |\n", num("proxy-cpu-ms/req", "ms"))
	if traced {
		fmt.Fprintf(w, "| CPU time the proxy adds per request, tracing on | %s | — | (reference) |\n", num(tracedPrefix+"proxy-cpu-ms/req", "ms"))
	}
	fmt.Fprintf(w, "| creating one file where the layout is | %s | — | (reference) |\n", num("file-create-us", "µs"))
	if len(runs) > 0 && hasMetric(runs[0], "flush-max-ms") {
		fmt.Fprintf(w, "| flushing a file there while the proxied requests run, 99th percentile | %s | — | (reference) |\n", num("flush-p99-ms", "ms"))
		fmt.Fprintf(w, "| flushing a file there while the proxied requests run, slowest | %s | — | (reference) |\n", num("flush-max-ms", "ms"))
	}
}

// hasMetric reports whether run has a value for metric.
func hasMetric(run proxyRun, metric string) bool {
	_, ok := run[metric]
	return ok
}

// proxyDir is where the proxy benchmark's layouts go: dir if set, else
// runid-oci-bench in the user's cache directory, the Go benchmark's own
// default (not the temporary directory, where test suites delete
// thousands of files a minute: see internal/fsprobe).
func proxyDir(dir string) (string, error) {
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("proxy benchmark directory: %w (set -proxy-dir)", err)
		}
		dir = filepath.Join(cache, "runid-oci-bench")
	}
	return dir, os.MkdirAll(dir, 0o755)
}
