package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestMemoryLimitFollowsLiveHeap: the limit starts at the floor and, once
// the live heap grows past the floor less the headroom, is moved above it
// after a collection, so that a large live heap never runs the collector
// without pause.
func TestMemoryLimitFollowsLiveHeap(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	startMemoryLimit()
	defer func() {
		memoryLimitOn.Store(false)
		runtime.GC() // runs the last armed finalizer, which now stops
		debug.SetMemoryLimit(before)
	}()
	if got := debug.SetMemoryLimit(-1); got > memoryLimitFor(1<<30) || got < memoryLimitFloor {
		t.Fatalf("limit at start %d, want at least the floor %d", got, memoryLimitFloor)
	}
	live := make([][]byte, 0, 96)
	for range 96 {
		b := make([]byte, 1<<20)
		b[0] = 1
		live = append(live, b)
	}
	want := int64(96<<20) + memoryLimitHeadroom
	deadline := time.Now().Add(10 * time.Second)
	for debug.SetMemoryLimit(-1) < want && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got < want {
		t.Errorf("limit %d with %d MiB live, want at least %d", got, len(live), want)
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
