package layout

import (
	"context"
	"sync"
	"time"
)

// Flushes have two priorities. A deferred push (SetDeferIndex) is urgent
// by default: someone waits for it (the recording proxy holds a request
// until its identity is durable). Its flush of the journal log goes
// first: a background commit starts none of its own flushes while an
// urgent push waits for one (up to maxYield each time), so that the
// urgent flush queues behind few others on the disk.
//
// A push made with a context from WithLowPriority is one nobody waits
// for (the proxy's output record, attached after the response): it is
// reported durable exactly as an urgent one, once a flush of the journal
// log covers its record, but it starts no flush of its own while one is
// in progress or for lowPriorityDelay after its append: it rides on the
// next urgent push's flush, which covers every record appended before it
// started. The disk sees one flush where it saw two.

type lowPriorityKey struct{}

// WithLowPriority returns a context whose writes to a Store yield to the
// others: a deferred push made with it (SetDeferIndex) reports success
// only once its journal record is flushed, as any push, but waits for a
// flush that another push starts, starting its own only when none has
// started for a short while (lowPriorityDelay). For writes nobody waits
// on, such as the recording proxy's output records.
func WithLowPriority(ctx context.Context) context.Context {
	return context.WithValue(ctx, lowPriorityKey{}, true)
}

// lowPriority reports whether ctx comes from WithLowPriority.
func lowPriority(ctx context.Context) bool {
	v, _ := ctx.Value(lowPriorityKey{}).(bool)
	return v
}

// lowPriorityDelay is how long a low-priority push waits, after its
// append, for another push to start a flush of the journal log that
// covers it before it starts one itself.
const lowPriorityDelay = 20 * time.Millisecond

// maxYield bounds how long a background commit holds one of its flushes
// back for urgent pushes: a steady stream of them must not stall the
// commit (past maxDeferred listings, pushes wait for it).
const maxYield = 5 * time.Millisecond

// urgency counts the urgent pushes waiting for a flush.
type urgency struct {
	mu sync.Mutex
	n  int
	// idle is closed when n drops to zero; nil while n is zero.
	idle chan struct{}
}

// begin notes that an urgent push waits for a flush; end that it is done.
func (u *urgency) begin() {
	u.mu.Lock()
	if u.n == 0 {
		u.idle = make(chan struct{})
	}
	u.n++
	u.mu.Unlock()
}

func (u *urgency) end() {
	u.mu.Lock()
	u.n--
	if u.n == 0 {
		close(u.idle)
		u.idle = nil
	}
	u.mu.Unlock()
}

// yield returns once no urgent push waits for a flush, or after maxYield.
func (u *urgency) yield() {
	u.mu.Lock()
	idle := u.idle
	u.mu.Unlock()
	if idle == nil {
		return
	}
	t := time.NewTimer(maxYield)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}
