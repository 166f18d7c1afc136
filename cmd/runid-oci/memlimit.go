package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// The process runs under a soft memory limit (debug.SetMemoryLimit) that
// follows its live heap while that is small: memoryLimitFloor, or the
// live heap plus memoryLimitHeadroom. With the runtime's default alone
// the heap may grow to twice the live heap before a collection, and freed
// memory returns to the system slowly, so a push of thousands of small
// components would peak at about twice the memory it uses. A fixed limit
// makes the collector run without pause once the live heap nears it (a
// large component, the proxy's growing layout), and a limit that keeps
// following a large live heap makes it collect far more often than the
// default (45% more CPU for the digest of a 58 MB JSON component with
// headroom of half the live heap). So the limit is lifted for good once
// the live heap passes memoryLimitLift, and the proxy, which runs for
// hours, lifts it at its start. GOMEMLIMIT, when set, is used instead.
const (
	memoryLimitFloor    = 36 << 20
	memoryLimitHeadroom = 16 << 20
	memoryLimitLift     = 48 << 20
)

// memoryLimitFor is the limit for a live heap of live bytes (at most
// memoryLimitLift).
func memoryLimitFor(live uint64) int64 {
	return max(memoryLimitFloor, int64(live)+memoryLimitHeadroom)
}

// startMemoryLimit sets the limit and, after each garbage collection,
// moves it with the live heap, or lifts it once that is over
// memoryLimitLift. It does nothing when GOMEMLIMIT is set.
func startMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	memoryLimitOn.Store(true)
	debug.SetMemoryLimit(memoryLimitFloor)
	armMemoryLimit()
}

// memoryLimitOn is set while the limit follows the live heap; clearing it
// stops that after the next collection.
var memoryLimitOn atomic.Bool

// armMemoryLimit makes an object that nothing references; its finalizer
// runs after the next collection, resets the limit from the live heap
// that collection measured, and arms the next.
func armMemoryLimit() {
	t := &gcTick{}
	runtime.SetFinalizer(t, func(*gcTick) {
		if !memoryLimitOn.Load() {
			return
		}
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindUint64 || s[0].Value.Uint64() > memoryLimitLift {
			stopMemoryLimit()
			return
		}
		debug.SetMemoryLimit(memoryLimitFor(s[0].Value.Uint64()))
		armMemoryLimit()
	})
}

// stopMemoryLimit removes the limit that startMemoryLimit set, unless
// GOMEMLIMIT gave one.
func stopMemoryLimit() {
	if memoryLimitOn.Swap(false) {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// gcTick holds a pointer so that it is not a tiny allocation, whose
// finalizer might never run.
type gcTick struct{ _ *int }
