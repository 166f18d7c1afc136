package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// comparison is one row of the table: runid-oci against a baseline on one
// workload, N samples each.
type comparison struct {
	workload string
	baseline string
	// target is the largest acceptable ratio of the medians; 0 for a row
	// shown for reference only.
	target float64
	// extraTarget, if set, is a further condition of the target (shown
	// in the target column); extra checks it after the runs and returns
	// the measured value.
	extraTarget string
	extra       func() (ok bool, measured string)
	// everyRun: the target holds for the ratio of every run to the
	// baseline's run that followed it, not only for the medians; the
	// table shows the least and greatest of those ratios.
	everyRun bool
	ours     []sample
	theirs   []sample
}

// runRatios returns the ratio of each run of runid-oci to the baseline's
// run paired with it.
func (c *comparison) runRatios() []float64 {
	var out []float64
	for i := range min(len(c.ours), len(c.theirs)) {
		if c.theirs[i].wall > 0 {
			out = append(out, float64(c.ours[i].wall)/float64(c.theirs[i].wall))
		}
	}
	return out
}

func median(ss []sample) time.Duration {
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = s.wall
	}
	return medianOf(d)
}

// medianOf sorts v and returns its median (the mean of the middle two for
// an even count), or 0 for none.
func medianOf[T ~int64 | ~float64](v []T) T {
	slices.Sort(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func peakRSS(ss []sample) int64 {
	var m int64
	for _, s := range ss {
		m = max(m, s.maxRSS)
	}
	return m
}

func (c *comparison) ratio() float64 {
	b := median(c.theirs)
	if b == 0 {
		return 0
	}
	return float64(median(c.ours)) / float64(b)
}

func (c *comparison) met() bool {
	if c.extra != nil {
		if ok, _ := c.extra(); !ok {
			return false
		}
	}
	if c.everyRun {
		r := c.runRatios()
		return len(r) > 0 && slices.Max(r) <= c.target
	}
	return c.ratio() <= c.target
}

// minMax prints the least and greatest of ss's wall times.
func minMax(ss []sample) string {
	if len(ss) < 2 {
		return ""
	}
	lo, hi := ss[0].wall, ss[0].wall
	for _, s := range ss[1:] {
		lo, hi = min(lo, s.wall), max(hi, s.wall)
	}
	return fmt.Sprintf(" (%.2f–%.2f)", lo.Seconds(), hi.Seconds())
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s" }

func mib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// writeTable writes the results as a Markdown table, with the peak memory
// of runid-oci over every workload as the last row.
func writeTable(w io.Writer, rows []*comparison, memTarget int64) {
	fmt.Fprintln(w, "| workload | compared with | runid-oci | baseline | ratio | target | met | runid-oci peak RSS | baseline peak RSS |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---|---:|---:|")
	var peak int64
	for _, r := range rows {
		peak = max(peak, peakRSS(r.ours))
		target, met := "—", "(reference)"
		if r.target > 0 {
			target = "≤ " + strconv.FormatFloat(r.target, 'f', 1, 64)
			met = yesNo(r.met())
		}
		ours, theirs, ratio := seconds(median(r.ours)), seconds(median(r.theirs)), fmt.Sprintf("%.2f", r.ratio())
		if r.everyRun {
			target += " in every run"
			ours += minMax(r.ours)
			theirs += minMax(r.theirs)
			if rr := r.runRatios(); len(rr) > 1 {
				ratio += fmt.Sprintf(" (%.2f–%.2f)", slices.Min(rr), slices.Max(rr))
			}
		}
		if r.extra != nil {
			_, measured := r.extra()
			target += ", " + r.extraTarget
			ours += " (" + measured + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.workload, r.baseline, ours, theirs, ratio, target, met,
			mib(peakRSS(r.ours)), mib(peakRSS(r.theirs)))
	}
	fmt.Fprintf(w, "| peak resident memory of runid-oci | every workload above | %s | | | ≤ %s | %s | | |\n",
		mib(peak), mib(memTarget), yesNo(peak <= memTarget))
}

// machine describes where the benchmark ran.
func machine() string {
	var parts []string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				parts = append(parts, strings.TrimSpace(v))
				break
			}
		}
	}
	parts = append(parts, fmt.Sprintf("%d cores (GOMAXPROCS %d)", runtime.NumCPU(), runtime.GOMAXPROCS(0)))
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				parts = append(parts, fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20)))
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		parts = append(parts, "Linux "+strings.TrimSpace(string(b)))
	} else {
		parts = append(parts, runtime.GOOS+"/"+runtime.GOARCH)
	}
	return strings.Join(parts, ", ")
}

// loadavg is the 1-minute load average, or "?" where /proc has none.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// parseSize parses a byte count: a plain integer or one with a KiB, MiB or
// GiB suffix.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mul    int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	mul := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mul = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, optionally with KiB, MiB or GiB", s)
	}
	return n * mul, nil
}

// humanSize prints a size as the flags take it.
func humanSize(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
