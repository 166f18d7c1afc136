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

// storeBenchmark is pack/layout's benchmark of one run's life in a layout
// (open, push, attach, verify, discover) with 10, 10,000 and 100,000
// identities stored.
const storeBenchmark = "BenchmarkStoreScale"

// storeSizes are its sub-benchmarks, in order.
var storeSizes = []string{"identities=10", "identities=10000", "identities=100000"}

// storeIterations is how many runs each sub-benchmark measures (-benchtime).
const storeIterations = 20

// storeTarget is the bound on the cost at 100,000 identities
// relative to 10.
const storeTarget = 1.5

// storeRun is one go test result: metric name to value, by size.
type storeRun map[string]map[string]float64

// runStoreBench runs BenchmarkStoreScale runs times (the big layouts are
// built once into the user's cache directory, which takes minutes).
func runStoreBench(ctx context.Context, root string, runs int, log io.Writer) (storeRun, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^"+storeBenchmark+"$",
		"-benchtime", strconv.Itoa(storeIterations)+"x", "-count", strconv.Itoa(runs), "-timeout", "60m", "./pack/layout")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, log), log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s: %w", storeBenchmark, err)
	}
	return parseStoreBench(out.String()), nil
}

// parseStoreBench collects, per size, every run's value of each metric
// (ns/op and the per-operation metrics), keyed "metric#run".
func parseStoreBench(out string) storeRun {
	res := storeRun{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], storeBenchmark+"/") {
			continue
		}
		size := strings.TrimPrefix(f[0], storeBenchmark+"/")
		if i := strings.LastIndex(size, "-"); i > 0 {
			size = size[:i]
		}
		if res[size] == nil {
			res[size] = map[string]float64{}
		}
		n := 0
		for k := range res[size] {
			if strings.HasPrefix(k, "ns/op#") {
				n++
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				res[size][f[i+1]+"#"+strconv.Itoa(n)] = v
			}
		}
	}
	return res
}

// median of a metric over the runs of one size.
func (r storeRun) median(size, metric string) float64 {
	var v []float64
	for k, x := range r[size] {
		if strings.HasPrefix(k, metric+"#") {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0
	}
	return medianOf(v)
}

// writeStoreTable writes the store's results as a Markdown table.
func writeStoreTable(w io.Writer, r storeRun, runs int) {
	fmt.Fprintf(w, "OCI layout store (pack/layout, durable): open a layout holding N identities, push one new identity, attach a record, verify, discover; "+
		"%d iterations per run, %d runs, medians in ms.\n\n", storeIterations, runs)
	fmt.Fprintln(w, "| identities stored | whole run | open | push | attach | verify | discover | vs 10 | target | met |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	base := r.median(storeSizes[0], "ns/op")
	for _, size := range storeSizes {
		total := r.median(size, "ns/op")
		ratio := 0.0
		if base > 0 {
			ratio = total / base
		}
		target, met := "—", "(reference)"
		if size != storeSizes[0] {
			target, met = fmt.Sprintf("≤ %.1fx", storeTarget), yesNo(ratio <= storeTarget)
		}
		fmt.Fprintf(w, "| %s | %.1f | %.2f | %.1f | %.1f | %.1f | %.1f | %.2fx | %s | %s |\n",
			strings.TrimPrefix(size, "identities="), total/1e6, r.median(size, "open-ms"), r.median(size, "push-ms"),
			r.median(size, "attach-ms"), r.median(size, "verify-ms"), r.median(size, "discover-ms"), ratio, target, met)
	}
}
