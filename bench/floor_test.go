package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 130 ticks; the command
	// name holds a space and a parenthesis.
	stat := "4242 (reg istry) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 12 0 100 2000000 3000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	got, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3800 * time.Millisecond; got != want {
		t.Errorf("CPU time %s, want %s", got, want)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 -5 6 7"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

// TestProcessCPU reads this process's own CPU time, which grows as it
// works.
func TestProcessCPU(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	after := before
	for after <= before && time.Now().Before(deadline) {
		x := 0
		for i := range 50_000_000 {
			x += i
		}
		_ = x
		if after, err = processCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if after <= before {
		t.Errorf("CPU time did not grow in 5 s of work: %s then %s", before, after)
	}
}

func TestFloor(t *testing.T) {
	if got := floorOf(12*time.Second, 2); got != 6*time.Second {
		t.Errorf("floor of 12 s on 2 cores = %s, want 6s", got)
	}
	if got := floorOf(3*time.Second, 0); got != 3*time.Second {
		t.Errorf("floor with no core count = %s, want the CPU time", got)
	}
	run := func(wall, cpu float64) sample {
		return sample{wall: time.Duration(wall * float64(time.Second)), regCPU: time.Duration(cpu * float64(time.Second)), cpu: time.Second}
	}
	// Floors 5, 5 and 6 s: ratios 1.1, 1.2, 1.0; median 1.1.
	r := &floorRow{registry: "reg", cores: 2, target: 1.15,
		ours:   []sample{run(5.5, 10), run(6, 10), run(6, 12)},
		theirs: []sample{run(12, 12), run(13, 13), run(12, 12)},
		bare:   []sample{run(7, 10), run(6.5, 10), run(7, 12)}}
	if !r.met() {
		t.Errorf("median ratio 1.10 against 1.15 not met")
	}
	var b strings.Builder
	writeFloorTable(&b, []*floorRow{r})
	for _, want := range []string{"| reg | 6.00 s | 10.00 s | 5.00 s | 1.10 (1.00–1.20) | ≤ 1.15 | yes | 1.00 s | 5.50 s | 12.00 s | 12.00 s | 2.00 (2.00–2.00) | 7.00 s | 1.00 s | 1.30 (1.17–1.40) |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	r.target = 1.05
	if r.met() {
		t.Errorf("median ratio 1.10 against 1.05 met")
	}
	// A run without a registry CPU time (none measured) has no ratio.
	empty := &floorRow{cores: 2, target: 1.15, ours: []sample{run(5, 0)}}
	if empty.met() {
		t.Error("met without any measured floor")
	}
	b.Reset()
	writeFloorTable(&b, []*floorRow{empty})
	if want := "| — | — | — |"; !strings.HasSuffix(strings.TrimSpace(b.String()), want) {
		t.Errorf("a row without barepush runs does not end in %q:\n%s", want, b.String())
	}
}

func TestParseTimeReport(t *testing.T) {
	cpu, kb, err := parseTimeReport("Command exited with non-zero status 1\n1.25 0.50 31744\n")
	if err != nil || cpu != 1750*time.Millisecond || kb != 31744 {
		t.Errorf("parseTimeReport = %s, %d, %v; want 1.75s, 31744", cpu, kb, err)
	}
	for _, bad := range []string{"", "31744", "x 0.5 100", "1 2 3 4"} {
		if _, _, err := parseTimeReport(bad); err == nil {
			t.Errorf("parseTimeReport(%q): no error", bad)
		}
	}
}

func TestEveryRun(t *testing.T) {
	s := func(secs ...float64) []sample {
		var out []sample
		for _, x := range secs {
			out = append(out, sample{wall: time.Duration(x * float64(time.Second))})
		}
		return out
	}
	// Medians 1.0 against 1.25 (0.8), but the second run is 1.0 against 1.0.
	c := &comparison{workload: "pull", baseline: "oras pull", target: 0.9, everyRun: true,
		ours: s(1.0, 1.0, 0.9), theirs: s(1.3, 1.0, 1.25)}
	if c.met() {
		t.Error("met although one run was at ratio 1.0 against 0.9")
	}
	var b strings.Builder
	writeTable(&b, []*comparison{c}, 64<<20)
	for _, want := range []string{"0.90–1.00", "1.00–1.30", "(0.72–1.00)", "≤ 0.9 in every run", "**no**"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	c.ours = s(1.0, 0.85, 0.9)
	if !c.met() {
		t.Errorf("not met with every run at most 0.9: %v", c.runRatios())
	}
}
