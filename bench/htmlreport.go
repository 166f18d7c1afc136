package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// reportBenchmark is pull/report's benchmark of Chromium loading the report
// of an identity of 10,000 components (headless; it needs Debian's
// chromium at /usr/bin/chromium).
const reportBenchmark = "BenchmarkBrowserLoadLarge"

// reportLoads is how many loads one run measures (-benchtime).
const reportLoads = 5

// Targets of the report of 10,000 components: it renders in Chromium in
// under reportLoadTarget milliseconds and its file stays under
// reportSizeTarget MiB (20 MB).
const (
	reportLoadTarget = 3000.0
	reportSizeTarget = 20e6 / (1 << 20)
)

// reportRun holds, per metric (ms/load, min-ms/load, cpu-ms/load,
// MiB/report), the value of each run.
type reportRun map[string][]float64

// runReportBench runs BenchmarkBrowserLoadLarge runs times.
func runReportBench(ctx context.Context, root string, runs int, log io.Writer) (reportRun, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^"+reportBenchmark+"$",
		"-benchtime", strconv.Itoa(reportLoads)+"x", "-count", strconv.Itoa(runs), "-timeout", "30m", "./pull/report")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, log), log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s: %w", reportBenchmark, err)
	}
	r := parseReportBench(out.String())
	if len(r["ms/load"]) == 0 {
		return nil, fmt.Errorf("go test -bench %s measured nothing (is /usr/bin/chromium installed?)", reportBenchmark)
	}
	return r, nil
}

// parseReportBench collects each run's metrics from go test's output.
func parseReportBench(out string) reportRun {
	res := reportRun{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] != reportBenchmark && !strings.HasPrefix(f[0], reportBenchmark+"-") {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				res[f[i+1]] = append(res[f[i+1]], v)
			}
		}
	}
	return res
}

// median of a metric over the runs.
func (r reportRun) median(metric string) float64 {
	return medianOf(append([]float64(nil), r[metric]...))
}

// writeReportTable writes the report's results as a Markdown table.
func writeReportTable(w io.Writer, r reportRun, runs int) {
	fmt.Fprintf(w, "HTML report of an identity of 10,000 components (pull/report, headless Chromium): "+
		"load time from navigation to the end of the load event; %d loads per run, %d runs, medians.\n\n", reportLoads, runs)
	fmt.Fprintln(w, "| measure | median | fastest load | target | met |")
	fmt.Fprintln(w, "|---|---:|---:|---|---|")
	load := r.median("ms/load")
	fmt.Fprintf(w, "| render in Chromium | %.0f ms | %.0f ms | < %.0f ms | %s |\n", load, r.median("min-ms/load"), reportLoadTarget, yesNo(load < reportLoadTarget))
	fmt.Fprintf(w, "| Chromium processor time per load | %.0f ms | — | — | (reference) |\n", r.median("cpu-ms/load"))
	size := r.median("MiB/report")
	fmt.Fprintf(w, "| file size | %.1f MiB | — | < 20 MB (%.1f MiB) | %s |\n", size, reportSizeTarget, yesNo(size < reportSizeTarget))
}
