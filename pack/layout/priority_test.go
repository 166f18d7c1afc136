package layout

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

// TestLowPriorityRidesOnUrgentFlush checks that deferred pushes made with
// WithLowPriority start no flush of the journal log while another push
// can flush it for them: 8 of them, whose patience outlasts the test,
// append their records and wait; an urgent push then comes, and all 9
// report after one flush of the log, the urgent push's. Each verifies,
// and Sync lists them all. A low-priority push with nobody to ride on
// flushes the log itself once its patience is over.
func TestLowPriorityRidesOnUrgentFlush(t *testing.T) {
	ctx := t.Context()
	sfs := &slowSyncFS{}
	s, err := Open(ctx, t.TempDir(), Options{Create: true, fs: sfs, lowDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	holdCommits(s, true) // only the journal's flushes are counted
	push := func(ctx context.Context, s *Store, n int) (digest.Digest, error) {
		res, err := pack.Push(ctx, s, composeRun(t, n), pack.PushOptions{})
		if err != nil {
			return "", err
		}
		return res.Descriptor.Digest, nil
	}
	first, err := push(ctx, s, 80)
	if err != nil {
		t.Fatal(err)
	}
	js := journalFiles(t, s, first)
	if len(js) != 1 {
		t.Fatalf("first push in %d journal files, want 1", len(js))
	}
	log := js[0]
	before := sfs.count(log)

	const n = 8
	low := WithLowPriority(ctx)
	var wg sync.WaitGroup
	var reported atomic.Int32
	got := make([]digest.Digest, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = push(low, s, 81+i)
			reported.Add(1)
		})
	}
	// The magic line, the first push's record, then one per push.
	for end := time.Now().Add(30 * time.Second); sfs.wrote(log) < 2+n; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d records appended to the journal log after 30 s, want %d", sfs.wrote(log)-2, n)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if r := reported.Load(); r != 0 {
		t.Fatalf("%d low-priority pushes reported before any flush of their records", r)
	}
	if f := sfs.count(log) - before; f != 0 {
		t.Fatalf("low-priority pushes flushed the journal log %d times with nobody to ride on, before their patience ran out", f)
	}
	urgent, err := push(ctx, s, 90)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d of %d low-priority pushes still wait 30 s after an urgent push's flush", n-int(reported.Load()), n)
	}
	if f := sfs.count(log) - before; f != 1 {
		t.Errorf("%d flushes of the journal log for %d low-priority pushes and an urgent one, want 1", f, n)
	}
	all := append([]digest.Digest{first, urgent}, got...)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("low-priority push %d: %v", i, err)
		}
	}
	for _, d := range all {
		if js := journalFiles(t, s, d); len(js) != 1 || js[0] != log {
			t.Errorf("push %s in journal files %v, want %s", d, js, log)
		}
		if _, err := pull.Verify(ctx, s, d.String(), pull.VerifyOptions{}); err != nil {
			t.Errorf("push %s does not verify: %v", d, err)
		}
	}
	holdCommits(s, false)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	listed := indexLists(t, s)
	for _, d := range all {
		if !listed[d] {
			t.Errorf("push %s not in index.json after Sync", d)
		}
	}
	if ents, _ := os.ReadDir(s.journalDir()); len(ents) != 0 {
		t.Errorf("after Sync, %d journal files are left", len(ents))
	}

	// Alone, a low-priority push flushes its record itself.
	const patience = 50 * time.Millisecond
	sfs2 := &slowSyncFS{}
	s2, err := Open(ctx, t.TempDir(), Options{Create: true, fs: sfs2, lowDelay: patience})
	if err != nil {
		t.Fatal(err)
	}
	s2.SetDeferIndex(true)
	start := time.Now()
	alone, err := push(WithLowPriority(ctx), s2, 100)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	js = journalFiles(t, s2, alone)
	if len(js) != 1 {
		t.Fatalf("lone low-priority push in %d journal files, want 1", len(js))
	}
	if f := sfs2.count(js[0]); f != 1 {
		t.Errorf("lone low-priority push: %d flushes of the journal log, want 1", f)
	}
	if took < patience {
		t.Errorf("lone low-priority push reported after %s, before its patience (%s) was over", took, patience)
	}
	if _, err := pull.Verify(ctx, s2, alone.String(), pull.VerifyOptions{}); err != nil {
		t.Errorf("lone low-priority push does not verify: %v", err)
	}
	if err := s2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestUrgencyYield checks what a background commit's flush waits for
// before it starts: nothing when no urgent push waits, the end of the
// urgent pushes that wait, and at most maxYield.
func TestUrgencyYield(t *testing.T) {
	var u urgency
	if u.idle != nil {
		t.Fatal("an urgency with no urgent push has something to wait for")
	}
	u.yield() // returns: nothing to wait for

	u.begin()
	u.begin()
	yielded := make(chan struct{})
	go func() { u.yield(); close(yielded) }()
	u.end()
	if u.idle == nil {
		t.Fatal("one urgent push of two ended, and nothing is left to wait for")
	}
	u.end()
	select {
	case <-yielded:
	case <-time.After(30 * time.Second):
		t.Fatal("yield still waits 30 s after the last urgent push ended")
	}

	u.begin()
	start := time.Now()
	u.yield()
	if took := time.Since(start); took < maxYield {
		t.Errorf("yield returned after %s while an urgent push waited, before maxYield (%s)", took, maxYield)
	}
	u.end()
	if u.idle != nil {
		t.Error("no urgent push waits, and yield would still wait")
	}
}

// TestUnflushedBytesReleased checks that the bytes a deferring store keeps
// of the small blobs it renamed into place unflushed (for their journal
// records) are dropped once the blobs are flushed: after Sync nothing is
// kept, and every push verifies.
func TestUnflushedBytesReleased(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, t.TempDir(), Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	holdCommits(s, true) // no commit flushes them meanwhile
	kept := func() int {
		n := 0
		s.unflushed.Range(func(any, any) bool { n++; return true })
		return n
	}
	var pushed []digest.Digest
	for i := range 4 {
		res, err := pack.Push(ctx, s, composeRun(t, 120+i), pack.PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, res.Descriptor.Digest)
	}
	if kept() == 0 {
		t.Fatal("a deferring store kept the bytes of no blob it left unflushed")
	}
	holdCommits(s, false)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := kept(); n != 0 {
		t.Errorf("after Sync, the bytes of %d blobs are still kept", n)
	}
	for _, d := range pushed {
		if _, err := pull.Verify(ctx, s, d.String(), pull.VerifyOptions{}); err != nil {
			t.Errorf("push %s does not verify: %v", d, err)
		}
	}
}
