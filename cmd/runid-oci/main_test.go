package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// unsetEnv removes key from the environment for the test (restored after).
func unsetEnv(t *testing.T, key string) {
	t.Setenv(key, "")
	os.Unsetenv(key)
}

// keepMemoryLimit restores the runtime's soft memory limit after the test.
func keepMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name        string
		gomemlimit  string // "-" for unset
		set, lifted int64
	}{
		{name: "no GOMEMLIMIT", gomemlimit: "-", set: memoryLimit, lifted: math.MaxInt64},
		{name: "GOMEMLIMIT given", gomemlimit: "1GiB", set: 1 << 40, lifted: 1 << 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keepMemoryLimit(t)
			if tc.gomemlimit == "-" {
				unsetEnv(t, "GOMEMLIMIT")
			} else {
				t.Setenv("GOMEMLIMIT", tc.gomemlimit)
			}
			// The runtime reads GOMEMLIMIT at start; stand in for it with a
			// limit that the functions must leave alone.
			debug.SetMemoryLimit(1 << 40)
			setMemoryLimit()
			if got := debug.SetMemoryLimit(-1); got != tc.set {
				t.Errorf("after setMemoryLimit: %d, want %d", got, tc.set)
			}
			liftMemoryLimit()
			if got := debug.SetMemoryLimit(-1); got != tc.lifted {
				t.Errorf("after liftMemoryLimit: %d, want %d", got, tc.lifted)
			}
		})
	}
}
