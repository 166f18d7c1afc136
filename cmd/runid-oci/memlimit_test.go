package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// holdMiB allocates n MiB that stay live until the result is dropped.
func holdMiB(n int) [][]byte {
	out := make([][]byte, 0, n)
	for range n {
		b := make([]byte, 1<<20)
		b[0] = 1
		out = append(out, b)
	}
	return out
}

// limitAfterGC collects until the limit satisfies ok (the finalizer that
// moves it runs after a collection, on its own goroutine), or 10 s pass,
// and returns the limit.
func limitAfterGC(ok func(int64) bool) int64 {
	deadline := time.Now().Add(10 * time.Second)
	for !ok(debug.SetMemoryLimit(-1)) && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	return debug.SetMemoryLimit(-1)
}

// TestMemoryLimitFollowsLiveHeap: the limit starts at the floor, moves
// above the live heap once that passes the floor less the headroom, and
// is lifted once the live heap passes memoryLimitLift, so that a large
// live heap never makes the collector run more often than the default.
func TestMemoryLimitFollowsLiveHeap(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer stopMemoryLimit()
	startMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != memoryLimitFloor {
		t.Fatalf("limit at start %d, want the floor %d", got, memoryLimitFloor)
	}
	live := holdMiB(32)
	want := int64(32<<20) + memoryLimitHeadroom
	if got := limitAfterGC(func(l int64) bool { return l >= want }); got < want || got == math.MaxInt64 {
		t.Errorf("limit %d with 32 MiB live, want from %d up, not lifted", got, want)
	}
	live = append(live, holdMiB(32)...)
	if got := limitAfterGC(func(l int64) bool { return l == math.MaxInt64 }); got != math.MaxInt64 {
		t.Errorf("limit %d with %d MiB live, want it lifted", got, len(live))
	}
	runtime.KeepAlive(live)
}

func TestMemoryLimitLeftToGOMEMLIMIT(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	before := debug.SetMemoryLimit(-1)
	startMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit changed to %d with GOMEMLIMIT set", got)
	}
}

// TestStopMemoryLimit: the proxy's stop removes the limit, and the next
// collection does not set it again.
func TestStopMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	startMemoryLimit()
	stopMemoryLimit()
	runtime.GC()
	time.Sleep(50 * time.Millisecond) // the finalizer goroutine runs after the collection
	runtime.GC()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit %d after stopMemoryLimit, want none", got)
	}
}
