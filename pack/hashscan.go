package pack

import (
	"io"
	"sync"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
)

// hashScanBuffers is how many blocks the hasher may be ahead of the
// scanner: with one, each would wait for the other at every block.
const hashScanBuffers = 3

// hashScan scans a text file for credentials from the bytes that Build
// reads to hash it. hashStream hands each block it has read and hashed to
// the scanner goroutine (swap) and reads the next into another buffer, so
// that hashing and scanning run side by side, each on its core, the file
// is read once and the hasher copies nothing for the scanner. The hasher
// waits only when it is hashScanBuffers blocks ahead.
type hashScan struct {
	full    chan hashScanBlock // blocks handed over, in order, for the scanner
	free    chan *[]byte       // buffers the scanner is done with, for the hasher to read into
	pool    *sync.Pool         // where the buffers come from and go back to
	made    int                // buffers taken from pool so far
	end     error              // what the scanner reads once full is closed: io.EOF, or why hashing stopped
	stopped chan struct{}
	res     hashScanResult
}

// hashScanBlock is a block of the file: data, within the buffer buf.
type hashScanBlock struct {
	buf  *[]byte
	data []byte
}

type hashScanResult struct {
	findings []scan.Finding
	err      error
}

// startHashScan starts the scanner of the text component name.
func startHashScan(name string) *hashScan {
	h := &hashScan{
		full:    make(chan hashScanBlock, hashScanBuffers),
		free:    make(chan *[]byte, hashScanBuffers+1),
		stopped: make(chan struct{}),
	}
	go func() {
		defer close(h.stopped)
		h.res.findings, h.res.err = scan.Reader(&hashScanReader{h: h}, name, mediatype.FormatText)
	}()
	return h
}

// swap hands data, read into the buffer buf (taken from pool), to the
// scanner, and returns a buffer to read the next block into: one the
// scanner is done with, or another from pool while fewer than
// hashScanBuffers were taken (with the hasher's own, as many buffers as
// the hasher may be blocks ahead, plus the one it reads into). After swap
// the hasher must not write to buf.
func (h *hashScan) swap(buf *[]byte, data []byte, pool *sync.Pool) (*[]byte, error) {
	h.pool = pool
	select {
	case h.full <- hashScanBlock{buf: buf, data: data}:
	case <-h.stopped: // the scan ended early: stop hashing too
		return nil, h.stoppedErr()
	}
	select {
	case b := <-h.free:
		return b, nil
	default:
	}
	if h.made < hashScanBuffers {
		h.made++
		return pool.Get().(*[]byte), nil
	}
	select {
	case b := <-h.free:
		return b, nil
	case <-h.stopped:
		return nil, h.stoppedErr()
	}
}

func (h *hashScan) stoppedErr() error {
	if h.res.err != nil {
		return h.res.err
	}
	return io.ErrClosedPipe
}

// finish ends the scan after hashing ended with hashErr, waits for the
// scanner, gives the buffers back and returns its findings. ok is false
// when the file was not scanned to its end (hashing failed, or the scan
// did).
func (h *hashScan) finish(hashErr error) (findings []scan.Finding, ok bool) {
	h.end = io.EOF
	if hashErr != nil {
		h.end = hashErr
	}
	close(h.full)
	<-h.stopped
	for range len(h.free) {
		h.pool.Put(<-h.free)
	}
	if hashErr != nil || h.res.err != nil {
		return nil, false
	}
	return h.res.findings, true
}

// hashScanReader is the scanner's side of a hashScan: the blocks handed
// over, in order, then h.end.
type hashScanReader struct {
	h    *hashScan
	held *[]byte // the buffer of the block being read, to give back once read
	cur  []byte  // what is left of the block
}

func (r *hashScanReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.held != nil {
			r.h.free <- r.held // never blocks: free has room for every buffer
			r.held = nil
		}
		b, ok := <-r.h.full
		if !ok {
			return 0, r.h.end // set before full was closed
		}
		r.held, r.cur = b.buf, b.data
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
