package fsprobe

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FlushBlock is how much a FlushProbe appends before each flush: about
// what the recording proxy appends to its store's journal for a request.
const FlushBlock = 16 << 10

// FlushProbe appends FlushBlock bytes to one file and flushes it
// (File.Sync, as the layout store flushes its journal), again and again
// at an interval, and keeps the wall time of each flush: what a flush
// costs on that file system while a benchmark runs beside it. A rare
// flush that stalls for tens of milliseconds delays every request waiting
// on the disk at that moment, which a percentile over a few hundred
// requests shows and a mean does not.
type FlushProbe struct {
	f    *os.File
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	times []time.Duration
	err   error
}

// StartFlushProbe creates its file in dir and starts flushing every
// interval. Stop ends it and removes the file.
func StartFlushProbe(dir string, interval time.Duration) (*FlushProbe, error) {
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("flush-probe-%d", os.Getpid())), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("flush probe: %w", err)
	}
	p := &FlushProbe{f: f, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(interval)
	return p, nil
}

func (p *FlushProbe) run(interval time.Duration) {
	defer close(p.done)
	block := make([]byte, FlushBlock)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		if _, err := p.f.Write(block); err != nil {
			p.fail(err)
			return
		}
		start := time.Now()
		if err := p.f.Sync(); err != nil {
			p.fail(err)
			return
		}
		d := time.Since(start)
		p.mu.Lock()
		p.times = append(p.times, d)
		p.mu.Unlock()
	}
}

func (p *FlushProbe) fail(err error) {
	p.mu.Lock()
	p.err = fmt.Errorf("flush probe: %w", err)
	p.mu.Unlock()
}

// Stop ends the probe, removes its file and returns the wall time of each
// flush, in the order they were made.
func (p *FlushProbe) Stop() ([]time.Duration, error) {
	close(p.stop)
	<-p.done
	name := p.f.Name()
	cerr := p.f.Close()
	rerr := os.Remove(name)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.err != nil:
		return p.times, p.err
	case cerr != nil:
		return p.times, fmt.Errorf("flush probe: %w", cerr)
	case rerr != nil:
		return p.times, fmt.Errorf("flush probe: %w", rerr)
	}
	return p.times, nil
}
