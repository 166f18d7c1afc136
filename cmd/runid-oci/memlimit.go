package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// The process runs under a soft memory limit (debug.SetMemoryLimit) that
// follows its live heap: memoryLimitFloor while the live heap is small,
// and the live heap plus memoryLimitHeadroom above that. With the
// runtime's default alone the heap may grow to twice the live heap before
// a collection, and memory freed is returned to the system slowly: a push
// of thousands of small components peaked at about twice the memory it
// used. A fixed limit would make the collector run without pause once
// the live heap neared it (a large composition); a limit that always
// stays memoryLimitHeadroom above the live heap collects at most once per
// that many bytes allocated. GOMEMLIMIT, when set, is used instead.
const (
	memoryLimitFloor    = 40 << 20
	memoryLimitHeadroom = 16 << 20
)

// memoryLimitFor is the limit for a live heap of live bytes.
func memoryLimitFor(live uint64) int64 {
	return max(memoryLimitFloor, int64(live)+memoryLimitHeadroom)
}

// startMemoryLimit sets the limit and, after each garbage collection,
// moves it with the live heap. It does nothing when GOMEMLIMIT is set.
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
		if s[0].Value.Kind() == metrics.KindUint64 {
			debug.SetMemoryLimit(memoryLimitFor(s[0].Value.Uint64()))
		}
		armMemoryLimit()
	})
}

// gcTick holds a pointer so that it is not a tiny allocation, whose
// finalizer might never run.
type gcTick struct{ _ *int }
