package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The registry's floor.
//
// A push of thousands of small blobs is bound by the registry: each blob
// costs it a request or two of CPU, and on a machine where the registry
// and the client share the cores, no client can finish before the
// registry's own CPU time for its requests, spread over every core, has
// passed. The benchmark measures that CPU time (from /proc, before and
// after each push) and reports the client's wall time against it.

// userHZ is the unit of the CPU times in /proc/PID/stat: clock ticks of
// USER_HZ, 100 per second on Linux whatever the kernel's own tick rate.
const userHZ = 100

// processCPU returns the CPU time (user and system) that process pid has
// used so far, its exited threads included.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from the text of a
// /proc/PID/stat file. The command name (field 2) is in parentheses and
// may itself hold spaces and parentheses: the fields are counted from the
// last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat %.40q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("/proc stat: CPU time %q: not a count of ticks", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// floorOf is the least wall time in which cores cores can give a process
// cpu of CPU time.
func floorOf(cpu time.Duration, cores int) time.Duration {
	if cores < 1 {
		cores = 1
	}
	return cpu / time.Duration(cores)
}

// floorRow is a small-blob push against one registry: runid-oci's and
// oras's runs, each with the registry's CPU time during it.
type floorRow struct {
	registry string
	cores    int
	target   float64 // largest acceptable runid-oci wall time / floor
	ours     []sample
	theirs   []sample
	bare     []sample // internal/barepush: the same blobs with the fewest requests, from net/http alone
}

// ratios returns wall / floor of each run that has a registry CPU time.
func (r *floorRow) ratios(ss []sample) []float64 {
	var out []float64
	for _, s := range ss {
		if f := floorOf(s.regCPU, r.cores); f > 0 {
			out = append(out, float64(s.wall)/float64(f))
		}
	}
	return out
}

// met reports whether the median of runid-oci's ratios meets the target.
func (r *floorRow) met() bool {
	v := r.ratios(r.ours)
	return len(v) > 0 && medianOf(v) <= r.target
}

func medianCPU(ss []sample) time.Duration {
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = s.regCPU
	}
	return medianOf(d)
}

func medianClient(ss []sample) time.Duration {
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = s.cpu
	}
	return medianOf(d)
}

// medianBoth is the median of the registry's and the client's CPU time
// together: spread over the cores, the least wall time of the push on a
// machine running nothing else.
func medianBoth(ss []sample) time.Duration {
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = s.regCPU + s.cpu
	}
	return medianOf(d)
}

// spread prints the median of v with its least and greatest value.
func spread(v []float64) string {
	if len(v) == 0 {
		return "—"
	}
	lo, hi := slices.Min(v), slices.Max(v)
	return fmt.Sprintf("%.2f (%.2f–%.2f)", medianOf(slices.Clone(v)), lo, hi)
}

// writeFloorTable writes the small-blob pushes against each registry's
// floor as a Markdown table.
func writeFloorTable(w io.Writer, rows []*floorRow) {
	fmt.Fprintln(w, "| registry | runid-oci | registry CPU during it | floor (CPU / cores) | runid-oci / floor | target | met | runid-oci's own CPU | (registry + runid-oci CPU) / cores | oras | registry CPU during it | oras / floor | bare net/http client | its own CPU | bare / floor |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | ≤ %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.registry, seconds(median(r.ours)), seconds(medianCPU(r.ours)), seconds(floorOf(medianCPU(r.ours), r.cores)),
			spread(r.ratios(r.ours)), r.target, yesNo(r.met()),
			seconds(medianClient(r.ours)), seconds(floorOf(medianBoth(r.ours), r.cores)),
			seconds(median(r.theirs)), seconds(medianCPU(r.theirs)), spread(r.ratios(r.theirs)),
			orDash(r.bare, median), orDash(r.bare, medianClient), spread(r.ratios(r.bare)))
	}
}

// orDash prints f of ss as seconds, or a dash when ss is empty.
func orDash(ss []sample, f func([]sample) time.Duration) string {
	if len(ss) == 0 {
		return "—"
	}
	return seconds(f(ss))
}
