package layout

import (
	"errors"
	"io/fs"
	"sync"
)

// syncer tracks the files and directories the store changed without
// flushing them, and flushes them on demand, sharing flushes between
// concurrent callers.
//
// Each change is noted (mark) after it is made, with a number taken from
// a counter. A flush of a path covers every change whose number is at
// most the counter's value when the flush started. flush(paths) returns
// once every change to paths noted before the call is flushed: it waits
// for a flush in flight that covers them, and starts its own for the
// others, in parallel, without waiting for a flush in flight that does
// not cover them. A caller therefore waits for one round of flushes of
// its own paths, never for another caller's round first.
type syncer struct {
	fs fileSystem // nil: the real one

	mu       sync.Mutex
	counter  uint64
	dirty    map[string]dirtyPath
	inflight map[string]*syncCall
	// flushed are small files this store knows to be flushed, so that
	// Exists neither reads nor flushes them again (bounded by
	// maxFlushedKnown).
	flushed map[string]bool
	// onFlushed, if set, is called with each file flushed or forgotten.
	onFlushed func(path string)
}

type dirtyPath struct {
	n   uint64
	dir bool
}

type syncCall struct {
	start uint64
	done  chan struct{}
	err   error
}

// maxFlushedKnown bounds syncer.flushed; it starts again when full.
const maxFlushedKnown = 1 << 14

// flushParallel bounds the flushes one call runs at once. A background
// commit (see deferInterval) runs at most backgroundParallel, and starts
// none while a push waits for its journal flush (see urgency), so that
// the flushes of pushes waiting meanwhile queue behind few of its own.
const (
	flushParallel      = 32
	backgroundParallel = 4
)

// markFile notes that the file at path was renamed into place unflushed.
func (s *syncer) markFile(path string) { s.mark(path, false) }

// markDir notes that dir has a new or removed name.
func (s *syncer) markDir(dir string) { s.mark(dir, true) }

func (s *syncer) mark(path string, dir bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirty == nil {
		s.dirty = map[string]dirtyPath{}
	}
	s.counter++
	s.dirty[path] = dirtyPath{n: s.counter, dir: dir}
	if !dir {
		delete(s.flushed, path)
	}
}

// known reports whether the file at path is one the store renamed into
// place and has not flushed yet, or one it knows to be flushed.
func (s *syncer) known(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dirty[path]
	return (ok && !d.dir) || s.flushed[path]
}

// dirtyFile reports whether the file at path was renamed into place and
// is not flushed yet.
func (s *syncer) dirtyFile(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dirty[path]
	return ok && !d.dir
}

// noteFlushed remembers that the small files at paths are flushed.
func (s *syncer) noteFlushed(paths ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteFlushedLocked(paths...)
}

func (s *syncer) noteFlushedLocked(paths ...string) {
	if s.flushed == nil || len(s.flushed)+len(paths) > maxFlushedKnown {
		s.flushed = make(map[string]bool, len(paths))
	}
	for _, p := range paths {
		s.flushed[p] = true
	}
}

// forget drops what the syncer knows of a removed file.
func (s *syncer) forget(path string) {
	s.mu.Lock()
	delete(s.dirty, path)
	delete(s.flushed, path)
	s.mu.Unlock()
	if s.onFlushed != nil {
		s.onFlushed(path)
	}
}

// flushAll flushes every change noted so far, at most parallel at once,
// calling yield (if set) before each flush starts.
func (s *syncer) flushAll(parallel int, yield func()) error {
	s.mu.Lock()
	paths := make([]string, 0, len(s.dirty))
	for p := range s.dirty {
		paths = append(paths, p)
	}
	s.mu.Unlock()
	return s.flushN(paths, parallel, yield)
}

// flush returns once every change noted to paths before the call is
// flushed. Paths with no change noted cost a map lookup.
func (s *syncer) flush(paths []string) error { return s.flushN(paths, flushParallel, nil) }

// flushN is flush running at most parallel flushes at once. A flush is
// registered as in progress only when it starts, so that nobody waits
// for one that is still queued here. yield, if set, is called before
// each flush is registered, so that it may hold the flush back for
// others.
func (s *syncer) flushN(paths []string, parallel int, yield func()) error {
	fsys := s.fs
	if fsys == nil {
		fsys = osFS{}
	}
	// A path needs a flush when a change to it is noted; which flush
	// covers it is decided when its turn comes.
	s.mu.Lock()
	var todo []string
	for _, p := range paths {
		if _, ok := s.dirty[p]; ok {
			todo = append(todo, p)
		}
	}
	s.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	errs := make([]error, len(todo))
	one := func(i int) {
		p := todo[i]
		if yield != nil {
			yield()
		}
		s.mu.Lock()
		d, ok := s.dirty[p]
		if !ok {
			s.mu.Unlock()
			return
		}
		if c := s.inflight[p]; c != nil && c.start >= d.n {
			s.mu.Unlock()
			<-c.done
			errs[i] = c.err
			return
		}
		c := &syncCall{start: s.counter, done: make(chan struct{})}
		if s.inflight == nil {
			s.inflight = map[string]*syncCall{}
		}
		s.inflight[p] = c
		s.mu.Unlock()
		var err error
		if d.dir {
			err = fsys.SyncDir(p)
		} else {
			err = fsys.SyncFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				err = nil // removed since: nothing to keep
			}
		}
		c.err = err
		s.mu.Lock()
		done := false
		if err == nil {
			if cur, ok := s.dirty[p]; ok && cur.n <= c.start {
				delete(s.dirty, p)
				if !cur.dir {
					s.noteFlushedLocked(p)
					done = true
				}
			}
		}
		if s.inflight[p] == c {
			delete(s.inflight, p)
		}
		s.mu.Unlock()
		if done && s.onFlushed != nil {
			s.onFlushed(p)
		}
		close(c.done)
		errs[i] = err
	}
	// The last path is flushed on this goroutine: a caller with one path
	// to flush starts no goroutine.
	sem := make(chan struct{}, max(1, parallel-1))
	var wg sync.WaitGroup
	for i := range todo {
		if i == len(todo)-1 {
			one(i)
			break
		}
		sem <- struct{}{}
		wg.Go(func() { one(i); <-sem })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
