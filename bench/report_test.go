package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "1GiB", want: 1 << 30},
		{in: "128MiB", want: 128 << 20},
		{in: "1KiB", want: 1 << 10},
		{in: "1000", want: 1000},
		{in: "12 B", want: 12},
		{in: "0", wantErr: true},
		{in: "-1MiB", wantErr: true},
		{in: "1GB", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestMedianAndRatio(t *testing.T) {
	s := func(secs ...float64) []sample {
		var out []sample
		for _, x := range secs {
			out = append(out, sample{wall: time.Duration(x * float64(time.Second)), maxRSS: int64(x * 1000)})
		}
		return out
	}
	c := &comparison{ours: s(3, 1, 2), theirs: s(4, 1, 3, 2), target: 1.0}
	if got := median(c.ours); got != 2*time.Second {
		t.Errorf("median of 3 = %s, want 2s", got)
	}
	if got := median(c.theirs); got != 2500*time.Millisecond {
		t.Errorf("median of 4 = %s, want 2.5s", got)
	}
	if got := c.ratio(); got != 0.8 {
		t.Errorf("ratio = %v, want 0.8", got)
	}
	if !c.met() {
		t.Error("0.8 against a target of 1.0 is not met")
	}
	c.extraTarget, c.extra = "0 B uploaded", func() (bool, string) { return false, "5 B uploaded" }
	if c.met() {
		t.Error("met although the extra condition failed")
	}
	var b strings.Builder
	writeTable(&b, []*comparison{c}, 64<<20)
	for _, want := range []string{"| 0.80 |", "**no**", "5 B uploaded", "≤ 1.0, 0 B uploaded", "| peak resident memory of runid-oci |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestParseReportBench(t *testing.T) {
	out := `goos: linux
BenchmarkBrowserLoadLarge-2   	       5	 900000000 ns/op	      1100 cpu-ms/load	         1.5 MiB/report	       700.0 min-ms/load	       800.0 ms/load
BenchmarkBrowserLoadLarge-2   	       5	 900000000 ns/op	      1300 cpu-ms/load	         1.5 MiB/report	       900.0 min-ms/load	      3500 ms/load
BenchmarkBrowserLoadLarge-2   	       5	 900000000 ns/op	      1200 cpu-ms/load	         1.5 MiB/report	       750.0 min-ms/load	      1000 ms/load
PASS
`
	r := parseReportBench(out)
	if got := r.median("ms/load"); got != 1000 {
		t.Errorf("median ms/load: %v", got)
	}
	var b strings.Builder
	writeReportTable(&b, r, 3)
	for _, want := range []string{"| render in Chromium | 1000 ms | 750 ms | < 3000 ms | yes |", "| file size | 1.5 MiB | — | < 20 MB (19.1 MiB) | yes |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
