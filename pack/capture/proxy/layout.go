package proxy

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"oras.land/oras-go/v2/content/oci"
)

// DefaultIndexSaveInterval is how often the handler saves the index.json
// of an OCI layout store by default.
const DefaultIndexSaveInterval = time.Second

// indexSaveShare bounds the time spent saving index.json to about one
// part in indexSaveShare of one core: the next save waits at least that
// many times as long as the last one took.
const indexSaveShare = 10

// nextIndexSave is the wait before the next save of index.json: the
// interval, or indexSaveShare times the last save's duration if that is
// longer. index.json lists every manifest of the layout, two per proxied
// request, and is rewritten whole: at 30,000 requests it is 14 MB, and
// saving it every second would take a growing share of the CPU.
func nextIndexSave(interval, took time.Duration) time.Duration {
	return max(interval, indexSaveShare*took)
}

// indexSaver saves the index.json of an OCI layout store at most once per
// interval (see nextIndexSave), instead of on every manifest push as
// oci.Store does: that rewrites the whole index, which lists every
// manifest of the layout, under one lock, and made concurrent requests
// queue behind each other.
type indexSaver struct {
	store *oci.Store
	log   *slog.Logger
	dirty atomic.Bool
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// newIndexSaver turns the store's AutoSaveIndex off and starts saving
// every interval, or less often while saves take long.
func newIndexSaver(store *oci.Store, interval time.Duration, log *slog.Logger) *indexSaver {
	s := &indexSaver{store: store, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	store.AutoSaveIndex = false
	go func() {
		defer close(s.done)
		t := time.NewTimer(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				start := time.Now()
				s.save()
				t.Reset(nextIndexSave(interval, time.Since(start)))
			}
		}
	}()
	return s
}

// changed notes that the index has entries to save.
func (s *indexSaver) changed() {
	if s != nil {
		s.dirty.Store(true)
	}
}

// save writes index.json if anything changed since the last save.
func (s *indexSaver) save() error {
	if !s.dirty.Swap(false) {
		return nil
	}
	if err := s.store.SaveIndex(); err != nil {
		s.dirty.Store(true)
		s.log.Error("index.json of the OCI layout not saved", "error", err)
		return err
	}
	return nil
}

// flush saves now what changed, if anything.
func (s *indexSaver) flush() error {
	if s == nil {
		return nil
	}
	return s.save()
}

// close stops the saver, saves what is left and turns the store's
// AutoSaveIndex back on.
func (s *indexSaver) close() error {
	if s == nil {
		return nil
	}
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		err = s.save()
		s.store.AutoSaveIndex = true
	})
	return err
}
