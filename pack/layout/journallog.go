package layout

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// The journal log: a deferring store (SetDeferIndex) appends each push to
// one journal file it holds open, .runid/journal/log-<random>, instead of
// creating a file per push. A push appends one record, then waits for a
// flush of the file that covers it: one in progress that started after
// the append, or its own (up to maxLogFlushes at once; pushes appended
// past that share the next one), so concurrent pushes share flushes, and
// no push creates, renames or removes a file to be durable. The file's name is flushed (its directory) before the
// first push in it reports.
//
// The file starts with journalLogMagic; each record is the manifest's
// entry, the entries of the blobs it lists that were not flushed yet
// (both "<digest> <size>\n" and the bytes, as in the first format), and
// the line "end <manifest digest>\n". A record without its end line was
// cut short by a crash: its push never reported, and it is ignored, with
// anything after it.
//
// The writer holds an exclusive flock(2) on the file while it may append
// to it. Another writer takes the file over (replays and lists it, then
// removes it) only when it can take that lock: its writer is gone. A log
// is retired (no more appends) when it passes maxJournalLog bytes or a
// write or flush to it failed, and removed once every push in it is
// listed in index.json; Sync removes the current one when it holds no
// unlisted push.

const (
	journalLogMagic  = "runid-journal v2\n"
	journalLogPrefix = "log-"
	journalEnd       = "end "
)

// maxJournalLog is the size past which a journal log is retired and the
// next push starts a new one.
const maxJournalLog = 16 << 20

// journalLog is a journal file a store appends to.
type journalLog struct {
	path string
	f    tempFile
	lock *flock.Flock

	mu   sync.Mutex
	cond sync.Cond
	// written counts the bytes appended, synced those flushed; inflight
	// holds the value of written when each flush in progress started.
	written, synced int64
	inflight        []int64
	// broken is the error of a write or flush that failed: the file may
	// hold a torn record or lost pages, nothing more is appended.
	broken error
	// pending counts the pushes appended and not yet listed in index.json
	// (nor failed); retired is set once nothing more is appended.
	pending int
	retired bool
	closed  bool
}

// isJournalLog reports whether a journal directory entry is a journal log.
func isJournalLog(name string) bool {
	return strings.HasPrefix(name, journalLogPrefix) && !strings.Contains(name, ".")
}

// appendJournal appends rec, a whole record, to the store's current
// journal log, starting a new log when there is none, and returns the log
// and the offset a flush must reach for rec to be durable.
func (s *Store) appendJournal(rec []byte) (*journalLog, int64, error) {
	for {
		log, err := s.currentJournal()
		if err != nil {
			return nil, 0, err
		}
		log.mu.Lock()
		if log.retired {
			log.mu.Unlock()
			continue
		}
		n, err := log.f.Write(rec)
		if err != nil {
			// The record may be in the file torn: nothing is appended
			// after it, and its push is not reported.
			log.broken = fmt.Errorf("journal %s: %w", log.path, err)
			log.retired = true
			log.mu.Unlock()
			s.retireJournal(log)
			return nil, 0, log.broken
		}
		log.written += int64(n)
		log.pending++
		if log.written >= maxJournalLog {
			log.retired = true
		}
		seq := log.written
		log.mu.Unlock()
		return log, seq, nil
	}
}

// currentJournal returns the journal log to append to, creating one when
// there is none or the current one is retired.
func (s *Store) currentJournal() (*journalLog, error) {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	if cur := s.jcur; cur != nil {
		cur.mu.Lock()
		retired := cur.retired
		cur.mu.Unlock()
		if !retired {
			return cur, nil
		}
	}
	jdir := s.journalDir()
	if err := s.mkdirDurable(jdir, 1); err != nil {
		return nil, err
	}
	f, err := s.fs.CreateTemp(jdir, journalLogPrefix+"*")
	if err != nil {
		return nil, err
	}
	log := &journalLog{path: f.Name(), f: f, lock: flock.New(f.Name())}
	log.cond.L = &log.mu
	// Another writer leaves a log alone while it is locked, and while it
	// is young and empty (between this creation and this lock).
	if ok, err := log.lock.TryLock(); err != nil || !ok {
		f.Close()
		s.fs.Remove(f.Name())
		if err == nil {
			err = fmt.Errorf("journal %s: locked by another writer", f.Name())
		}
		return nil, err
	}
	n, err := io.WriteString(f, journalLogMagic)
	if err != nil {
		log.lock.Unlock()
		f.Close()
		s.fs.Remove(f.Name())
		return nil, err
	}
	log.written = int64(n)
	// The first push in the log flushes its name.
	s.sync.markDir(jdir)
	if s.jlogs == nil {
		s.jlogs = map[string]*journalLog{}
	}
	s.jlogs[log.path] = log
	s.jcur = log
	return log, nil
}

// maxLogFlushes bounds the flushes of one journal log in progress at
// once. A push whose record no flush in progress covers starts its own
// while fewer are running, so that at low concurrency a push waits for
// one flush, not for the end of another's first; past that, the pushes
// appended meanwhile share the next flush.
const maxLogFlushes = 4

// syncTo returns once the log is flushed up to offset seq: it waits for a
// flush in progress that started after the record was appended, or starts
// one (see maxLogFlushes); a flush covers every record appended before it
// started. With patience (a low-priority push, WithLowPriority), it
// starts none while a flush is in progress nor before patience has
// passed: the flush another push starts meanwhile covers it.
func (l *journalLog) syncTo(seq int64, patience time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	low := patience > 0
	var patient time.Time
	if low {
		patient = time.Now().Add(patience)
		// Wakes this waiter when its patience ends.
		t := time.AfterFunc(patience, func() {
			l.mu.Lock()
			l.cond.Broadcast()
			l.mu.Unlock()
		})
		defer t.Stop()
	}
	for l.synced < seq {
		if l.broken != nil {
			return l.broken
		}
		covered := false
		for _, t := range l.inflight {
			covered = covered || t >= seq
		}
		if covered || len(l.inflight) >= maxLogFlushes || low && (len(l.inflight) > 0 || time.Now().Before(patient)) {
			l.cond.Wait()
			continue
		}
		target := l.written
		l.inflight = append(l.inflight, target)
		l.mu.Unlock()
		err := l.f.Sync()
		l.mu.Lock()
		if i := slices.Index(l.inflight, target); i >= 0 {
			l.inflight = slices.Delete(l.inflight, i, i+1)
		}
		if err != nil {
			// After a failed flush the kernel may have dropped the pages:
			// a later flush succeeding says nothing about them.
			l.broken = fmt.Errorf("journal %s: %w", l.path, err)
			l.retired = true
		} else {
			l.synced = max(l.synced, target)
		}
		l.cond.Broadcast()
	}
	return nil
}

// releaseJournal notes that one push appended to the journal log at path
// is listed in index.json, or failed: a retired log with none left is
// closed and removed. A path that is not one of this store's logs is a
// journal file taken over from another writer, and is removed.
func (s *Store) releaseJournal(path string) {
	s.jmu.Lock()
	log := s.jlogs[path]
	s.jmu.Unlock()
	if log == nil {
		_ = s.fs.Remove(path)
		s.sync.forget(path)
		return
	}
	log.mu.Lock()
	log.pending--
	log.mu.Unlock()
	s.retireJournal(log)
}

// retireJournal closes and removes log if it is retired and holds no
// push that is not listed yet.
func (s *Store) retireJournal(log *journalLog) {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	log.mu.Lock()
	done := log.retired && log.pending <= 0 && !log.closed && len(log.inflight) == 0
	if done {
		log.closed = true
	}
	log.mu.Unlock()
	if !done {
		return
	}
	// Removed before it is unlocked: another writer never takes over a
	// log whose pushes are all listed.
	_ = s.fs.Remove(log.path)
	log.f.Close()
	log.lock.Unlock()
	delete(s.jlogs, log.path)
	if s.jcur == log {
		s.jcur = nil
	}
}

// dropIdleJournal retires the current journal log when every push in it
// is listed, so that a store that is synced and left leaves no journal
// file behind.
func (s *Store) dropIdleJournal() {
	s.jmu.Lock()
	log := s.jcur
	s.jmu.Unlock()
	if log == nil {
		return
	}
	log.mu.Lock()
	if log.pending == 0 {
		log.retired = true
	}
	log.mu.Unlock()
	s.retireJournal(log)
}

// journalLogHeld reports whether a live writer holds the journal log at
// path (this store, or another one that holds its lock).
func (s *Store) journalLogHeld(path string) bool {
	s.jmu.Lock()
	_, mine := s.jlogs[path]
	s.jmu.Unlock()
	if mine {
		return true
	}
	l := flock.New(path, flock.SetFlag(os.O_RDONLY))
	ok, err := l.TryLock()
	if err != nil || !ok {
		return err == nil
	}
	l.Unlock()
	return false
}

// readJournalFile reads a journal file of either format and returns the
// pushes it holds whole, each the manifest's entry first. A file of the
// first format holds one push and fails unless it is whole; a log keeps
// the records before the first one that is cut short or damaged.
func readJournalFile(path string) ([][]journalEntry, error) {
	if !isJournalLog(filepath.Base(path)) {
		ents, err := readJournal(path)
		if err != nil {
			return nil, err
		}
		return [][]journalEntry{ents}, nil
	}
	f, r, err := openJournal(path, journalLogMagic)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]journalEntry
	var cur []journalEntry
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return out, nil // the end, or a record cut short
		}
		line = strings.TrimSuffix(line, "\n")
		if rest, ok := strings.CutPrefix(line, journalEnd); ok {
			if len(cur) == 0 || cur[0].digest.String() != rest {
				return out, nil
			}
			out = append(out, cur)
			cur = nil
			continue
		}
		e, err := readJournalEntry(r, line)
		if err != nil {
			return out, nil
		}
		cur = append(cur, e)
	}
}
