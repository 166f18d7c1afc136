// Package benchenv reads the settings that the Go benchmarks of several
// packages share from the environment. It imports only the standard
// library, so that any package's internal tests may import it.
package benchenv

import (
	"os"
	"strconv"
	"testing"
)

// MiB is the size in MiB that RUNID_BENCH_MIB asks of a benchmark, or def
// when it is unset; anything but a positive whole number fails b.
func MiB(b testing.TB, def int) int {
	b.Helper()
	s := os.Getenv("RUNID_BENCH_MIB")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("RUNID_BENCH_MIB=%q: want a positive number of MiB", s)
	}
	return n
}
