package layout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	// SegmentArtifactType is the artifactType of the image indexes that
	// list a layout's untagged manifests.
	SegmentArtifactType = "application/vnd.runid.store.segment.v1"
	// AnnotationSegmentLevel marks a segment's entry in index.json with its
	// level: 0 lists manifests, n+1 lists segments of level n.
	AnnotationSegmentLevel = "dev.runid.store.segment.level"
	// SegmentFanout is how many segments of one level a segment of the
	// next level gathers.
	SegmentFanout = 16
	// DefaultRecentManifests is how many of the newest untagged manifests
	// index.json lists at its top level (up to twice as many before they
	// are folded into a segment).
	DefaultRecentManifests = 256
	// maxSegmentEntries caps the entries of one segment, which keeps it
	// well under MaxManifestSize.
	maxSegmentEntries = 4096
	// maxIndexSize caps the index.json the store reads.
	maxIndexSize = 1 << 30
)

// commitRequest is what one write adds to index.json.
type commitRequest struct {
	manifests []ocispec.Descriptor
	tags      map[string]ocispec.Descriptor
}

// groupCommit gathers the requests of concurrent writers of one store: a
// committer goroutine commits every waiting request under one lock and
// one replacement of index.json, then wakes their writers.
type groupCommit struct {
	store   *Store
	mu      sync.Mutex
	pending []*pendingCommit
	running bool
	// waiters counts the pending requests with a waiter; wake tells a
	// committer holding deferred requests back that one arrived.
	waiters int
	wake    chan struct{}
	// last is when the last commit ended.
	last time.Time
	// retry is the wait before deferred requests whose commit failed are
	// committed again: deferRetry, doubling to maxDeferRetry.
	retry time.Duration
}

// deferInterval is the least time between two commits that only list
// deferred manifests (SetDeferIndex): nobody waits for them, and fewer,
// larger commits cost less CPU and fewer flushes than one per push. A
// request with a waiter is committed at once, with every deferred one.
const deferInterval = 100 * time.Millisecond

// maxDeferred bounds the deferred listings waiting for a commit. Past it,
// a deferred push waits for the commit as a tagged one does, so that a
// writer pushing faster than the store can list (a proxy under a burst of
// requests) is slowed down instead of growing its memory, its journal
// directory and the next commit without bound.
const maxDeferred = 256

// pendingCommit is one request waiting for a commit. A deferred one
// (SetDeferIndex) has no waiter: done is nil, journal names its journal
// file, and a commit that fails queues it again.
type pendingCommit struct {
	req     commitRequest
	done    chan struct{}
	err     error
	journal string
}

func (g *groupCommit) commit(_ context.Context, req commitRequest) error {
	p := &pendingCommit{req: req, done: make(chan struct{})}
	g.enqueue(p)
	<-p.done
	return p.err
}

// enqueue queues p for the next commit and starts the committer if it is
// not running.
func (g *groupCommit) enqueue(p *pendingCommit) {
	g.mu.Lock()
	g.enqueueLocked(p)
	g.mu.Unlock()
}

// enqueueDeferred queues the deferred listing p. When maxDeferred
// listings already wait, it waits for the commit that lists p; if that
// commit fails, p stays queued (its journal file keeps it) and the push
// it belongs to is still reported.
func (g *groupCommit) enqueueDeferred(p *pendingCommit) {
	limit := g.store.opts.deferredLimit()
	g.mu.Lock()
	if len(g.pending) >= limit {
		p.done = make(chan struct{})
	}
	done := p.done
	g.enqueueLocked(p)
	g.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (g *groupCommit) enqueueLocked(p *pendingCommit) {
	g.pending = append(g.pending, p)
	if p.done != nil {
		g.waiters++
		if g.wake != nil {
			select {
			case g.wake <- struct{}{}:
			default:
			}
		}
	}
	if !g.running {
		g.running = true
		go g.run()
	}
}

// run commits the waiting requests, batch after batch, until none wait:
// a request waits for the batch being committed, then for its own.
// Deferred requests of a batch that failed are committed again after
// g.retry, or with the next request that has a waiter; their journal
// files keep them meanwhile.
func (g *groupCommit) run() {
	g.mu.Lock()
	if g.wake == nil {
		g.wake = make(chan struct{}, 1)
		g.retry = deferRetry
	}
	for len(g.pending) > 0 {
		if wait := deferInterval - time.Since(g.last); g.waiters == 0 && wait > 0 {
			// Only deferred requests: gather more, unless a waiter comes.
			g.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-g.wake:
				t.Stop()
			}
			g.mu.Lock()
			if g.waiters == 0 && time.Since(g.last) < deferInterval {
				continue
			}
		}
		select {
		case <-g.wake:
		default:
		}
		batch := g.pending
		g.pending = nil
		g.waiters = 0
		g.mu.Unlock()
		journal, err := g.store.commitBatch(context.Background(), batch)
		if err == nil {
			g.store.removeJournal(journal)
		}
		var retry []*pendingCommit
		for _, b := range batch {
			if b.done != nil {
				b.err = err
				close(b.done)
			}
			if err != nil && b.journal != "" {
				// A deferred listing, kept by its journal file: retried,
				// whether or not its push waited for this commit.
				retry = append(retry, &pendingCommit{req: b.req, journal: b.journal})
			}
		}
		if err != nil && len(retry) > 0 {
			// Their journal files keep them meanwhile. A waiter that
			// comes is not kept waiting for the retry.
			t := time.NewTimer(g.retry)
			select {
			case <-t.C:
			case <-g.wake:
				t.Stop()
			}
			g.retry = min(2*g.retry, maxDeferRetry)
		} else {
			g.retry = deferRetry
		}
		g.mu.Lock()
		g.last = time.Now()
		g.pending = append(retry, g.pending...)
	}
	g.running = false
	g.mu.Unlock()
}

// commitBatch adds the requests to index.json under the layout's lock:
// it reads the index.json on disk, brings the sidecar up to date if
// another program wrote it, writes a segment for the new manifests,
// replaces index.json, then writes the tags' sidecar files and the state.
// It also lists the manifests of journal files no live writer commits
// (see recoverJournal), and returns the journal files that the new
// index.json makes unneeded.
func (s *Store) commitBatch(ctx context.Context, batch []*pendingCommit) ([]string, error) {
	unlock, err := s.lockLayout(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var manifests []ocispec.Descriptor
	var journal []string
	tags := map[string]ocispec.Descriptor{}
	mine := map[string]bool{}
	for _, p := range batch {
		manifests = append(manifests, p.req.manifests...)
		for t, d := range p.req.tags {
			tags[t] = d
		}
		if p.journal != "" {
			journal = append(journal, p.journal)
			mine[p.journal] = true
		}
	}
	recovered, rfiles := s.recoverJournal(ctx, mine)
	manifests = append(manifests, recovered...)
	journal = append(journal, rfiles...)
	if len(manifests) == 0 && len(tags) == 0 {
		return nil, nil
	}
	// A background commit yields to waiting pushes while it is not
	// falling behind: past half of maxDeferred listings waiting, pushes
	// are about to wait for it.
	pace := paceYield
	if len(batch) >= s.opts.deferredLimit()/2 {
		pace = pacePlain
	}
	for _, p := range batch {
		if p.done != nil {
			pace = paceUrgent
		}
	}
	if err := s.commitLocked(ctx, manifests, tags, pace); err != nil {
		return nil, err
	}
	return journal, nil
}

// commitPace says how a commit flushes: for a waiter, as fast as it can
// (flushParallel at once); in the background (nobody waits),
// backgroundParallel at once, yielding to the pushes that wait for their
// journal's flush (see urgency) unless the commit is falling behind.
type commitPace int

const (
	paceUrgent commitPace = iota
	pacePlain
	paceYield
)

// commitLocked is commitBatch's commit, under the layout's lock, its
// flushes paced by pace.
func (s *Store) commitLocked(ctx context.Context, manifests []ocispec.Descriptor, tags map[string]ocispec.Descriptor, pace commitPace) error {
	var err error
	cur := s.cachedLines()
	s.lastIndex = indexCache{}
	if cur == nil {
		cur, err = s.indexForCommit(ctx)
	}
	if err != nil {
		return err
	}
	next, err := s.mergeLines(cur, manifests, tags)
	if err != nil {
		return err
	}
	b, err := next.encode()
	if err != nil {
		return err
	}
	flush := func() error { return s.sync.flushAll(flushParallel, nil) }
	switch pace {
	case pacePlain:
		flush = func() error { return s.sync.flushAll(backgroundParallel, nil) }
	case paceYield:
		flush = func() error { return s.sync.flushAll(backgroundParallel, s.urgent.yield) }
	}
	if err := s.writeIndexBytes(b, flush); err != nil {
		return err
	}
	for t, d := range tags {
		if err := s.writeTag(t, d); err != nil {
			return fmt.Errorf("tag %s in %s: %w", t, s.root, err)
		}
	}
	fi, err := os.Stat(filepath.Join(s.root, indexFile))
	if err != nil {
		return err
	}
	if err := s.writeState(stateOf(fi, "")); err != nil {
		return err
	}
	s.lastIndex = indexCache{lines: next, fi: fi}
	return nil
}

// indexForCommit, under the lock, returns index.json. When this store
// wrote it last (the state matches), its tag lines are kept as bytes
// (see indexLines); otherwise it is decoded whole and, if another
// program wrote it, the sidecar is brought up to date first.
func (s *Store) indexForCommit(ctx context.Context) (*indexLines, error) {
	b, fi, err := s.readIndexBytes()
	if err != nil {
		return nil, err
	}
	st, ok := s.readState()
	fresh := ok && st.matches(fi)
	if fresh {
		if l, ok := parseLines(b); ok {
			return l, nil
		}
	}
	idx, err := s.decodeIndex(b)
	if err != nil {
		return nil, err
	}
	if !fresh {
		if err := s.syncFrom(ctx, idx, !ok); err != nil {
			return nil, err
		}
		if err := s.writeState(stateOf(fi, "")); err != nil {
			return nil, err
		}
	}
	return linesOf(idx)
}

// readIndex reads and parses index.json.
func (s *Store) readIndex() (*ocispec.Index, os.FileInfo, error) {
	b, fi, err := s.readIndexBytes()
	if err != nil {
		return nil, nil, err
	}
	idx, err := s.decodeIndex(b)
	if err != nil {
		return nil, nil, err
	}
	return idx, fi, nil
}

// readIndexBytes reads index.json, a regular file of at most maxIndexSize
// bytes.
func (s *Store) readIndexBytes() ([]byte, os.FileInfo, error) {
	p := filepath.Join(s.root, indexFile)
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxIndexSize {
		return nil, nil, fmt.Errorf("read %s: %w: not a regular file of at most %d bytes", p, ErrDamaged, maxIndexSize)
	}
	var buf bytes.Buffer
	buf.Grow(int(fi.Size()) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, maxIndexSize+1)); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	if buf.Len() > maxIndexSize {
		return nil, nil, fmt.Errorf("read %s: %w: over %d bytes", p, ErrDamaged, maxIndexSize)
	}
	b := buf.Bytes()
	return b, fi, nil
}

// decodeIndex parses index.json's bytes.
func (s *Store) decodeIndex(b []byte) (*ocispec.Index, error) {
	p := filepath.Join(s.root, indexFile)
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("read %s: %w: %v (runid-oci layout repair rebuilds it from the blobs)", p, ErrDamaged, err)
	}
	if idx.SchemaVersion != 2 {
		return nil, fmt.Errorf("read %s: %w: schemaVersion %d, want 2", p, ErrDamaged, idx.SchemaVersion)
	}
	return &idx, nil
}

// writeIndex replaces index.json atomically.
func (s *Store) writeIndex(idx *ocispec.Index) error {
	return s.writeIndexAfter(idx, nil)
}

// writeIndexAfter replaces index.json atomically once flush, run while
// the new index.json is flushed, succeeded.
func (s *Store) writeIndexAfter(idx *ocispec.Index, flush func() error) error {
	l, err := linesOf(idx)
	if err != nil {
		return err
	}
	b, err := l.encode()
	if err != nil {
		return err
	}
	return s.writeIndexBytes(b, flush)
}

// writeIndexBytes replaces index.json with b atomically once flush, run
// while the new index.json is flushed, succeeded.
func (s *Store) writeIndexBytes(b []byte, flush func() error) error {
	err := writeAtomicAlongside(s.fs, s.tmpDir, filepath.Join(s.root, indexFile), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}, s.fs.SyncDir, flush)
	if err != nil {
		return fmt.Errorf("write index.json of %s: %w", s.root, err)
	}
	return nil
}

func isSegment(d ocispec.Descriptor) bool {
	_, ok := segmentLevel(d)
	return ok
}

func segmentLevel(d ocispec.Descriptor) (int, bool) {
	v, ok := d.Annotations[AnnotationSegmentLevel]
	if !ok || d.MediaType != ocispec.MediaTypeImageIndex {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 64 {
		return 0, false
	}
	return n, true
}

// merge returns idx with tags set and manifests listed (see mergeLines).
func (s *Store) merge(idx *ocispec.Index, manifests []ocispec.Descriptor, tags map[string]ocispec.Descriptor) (*ocispec.Index, error) {
	l, err := linesOf(idx)
	if err != nil {
		return nil, err
	}
	out, err := s.mergeLines(l, manifests, tags)
	if err != nil {
		return nil, err
	}
	return out.index()
}

// mergeLines returns cur with tags set and manifests listed: tags, then
// segments from the highest level down, then the recent untagged
// manifests, oldest first. The tags' lines that do not change are not
// decoded.
func (s *Store) mergeLines(cur *indexLines, manifests []ocispec.Descriptor, tags map[string]ocispec.Descriptor) (*indexLines, error) {
	var levels [][]ocispec.Descriptor
	addSeg := func(l int, d ocispec.Descriptor) {
		for len(levels) <= l {
			levels = append(levels, nil)
		}
		levels[l] = append(levels[l], d)
	}
	var loose []ocispec.Descriptor
	seenSeg := map[digest.Digest]bool{}
	for _, e := range cur.other {
		if l, ok := segmentLevel(e); ok {
			if !seenSeg[e.Digest] {
				seenSeg[e.Digest] = true
				addSeg(l, e)
			}
			continue
		}
		loose = append(loose, e)
	}
	for t, d := range tags {
		e := d
		e.Annotations = map[string]string{}
		for k, v := range d.Annotations {
			e.Annotations[k] = v
		}
		e.Annotations[ocispec.AnnotationRefName] = t
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		cur.setTag(t, raw)
	}
	// New manifests join the recent ones at the top level, where other
	// tools resolve them by digest; when twice the window piles up, all
	// but the newest window's worth go into a segment.
	loose = dedupe(append(loose, manifests...))
	window := s.opts.recentManifests()
	if len(loose) >= 2*window {
		fold := loose[:len(loose)-window]
		for i := 0; i < len(fold); i += maxSegmentEntries {
			seg, err := s.writeSegment(0, fold[i:min(i+maxSegmentEntries, len(fold))])
			if err != nil {
				return nil, err
			}
			addSeg(0, seg)
		}
		loose = append([]ocispec.Descriptor(nil), loose[len(loose)-window:]...)
	}
	for l := 0; l < len(levels); l++ {
		if len(levels[l]) < SegmentFanout {
			continue
		}
		children := levels[l]
		levels[l] = nil
		seg, err := s.writeSegment(l+1, children)
		if err != nil {
			return nil, err
		}
		addSeg(l+1, seg)
	}
	out := &indexLines{annotations: cur.annotations, tags: cur.tags,
		other: make([]ocispec.Descriptor, 0, len(levels)*SegmentFanout+len(loose))}
	for l := len(levels) - 1; l >= 0; l-- {
		out.other = append(out.other, levels[l]...)
	}
	out.other = append(out.other, loose...)
	return out, nil
}

func dedupe(ds []ocispec.Descriptor) []ocispec.Descriptor {
	seen := make(map[digest.Digest]bool, len(ds))
	out := ds[:0]
	for _, d := range ds {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d)
		}
	}
	return out
}

// writeSegment stores an image index listing children and returns its
// index.json entry.
func (s *Store) writeSegment(level int, children []ocispec.Descriptor) (ocispec.Descriptor, error) {
	list := make([]ocispec.Descriptor, len(children))
	for i, c := range children {
		list[i] = listed(c)
	}
	seg := ocispec.Index{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageIndex,
		ArtifactType: SegmentArtifactType,
		Manifests:    list,
	}
	b, err := json.Marshal(seg)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{
		MediaType:    ocispec.MediaTypeImageIndex,
		Digest:       digest.FromBytes(b),
		Size:         int64(len(b)),
		ArtifactType: SegmentArtifactType,
		Annotations:  map[string]string{AnnotationSegmentLevel: strconv.Itoa(level)},
	}
	if err := s.putBlob(desc, b); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write segment of %s: %w", s.root, err)
	}
	return desc, nil
}

// putBlob stores b unless it is stored; the next commit flushes its
// directory.
func (s *Store) putBlob(desc ocispec.Descriptor, b []byte) error {
	path, err := s.blobPath(desc.Digest)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == desc.Size {
		return nil
	}
	if err := s.mkdirDurable(filepath.Dir(path), 2); err != nil {
		return err
	}
	return s.writeDeferred(path, b)
}
