package pack

import (
	"io"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
)

// hashScanBuffers is how many blocks the hasher may be ahead of the
// scanner: with one, each would wait for the other at every block.
const hashScanBuffers = 3

// hashScan scans a text file for credentials from the bytes that Build
// reads to hash it. Build writes each read into it (through an
// io.TeeReader); Write copies the block into a buffer of its own and
// queues it for the scanner goroutine, so that the hasher goes on at
// once: hashing and scanning run side by side, each on its core, and the
// file is read once. The hasher waits only when it is hashScanBuffers
// blocks ahead.
type hashScan struct {
	full    chan []byte // blocks written, in order, for the scanner
	free    chan []byte // blocks the scanner is done with, for Write to reuse
	made    int         // buffers allocated so far
	end     error       // what the scanner reads once full is closed: io.EOF, or why hashing stopped
	stopped chan struct{}
	res     hashScanResult
}

type hashScanResult struct {
	findings []scan.Finding
	err      error
}

// startHashScan starts the scanner of the text component name.
func startHashScan(name string) *hashScan {
	h := &hashScan{
		full:    make(chan []byte, hashScanBuffers),
		free:    make(chan []byte, hashScanBuffers),
		stopped: make(chan struct{}),
	}
	go func() {
		defer close(h.stopped)
		h.res.findings, h.res.err = scan.Reader(&hashScanReader{h: h}, name, mediatype.FormatText)
	}()
	return h
}

// Write queues a copy of p for the scanner.
func (h *hashScan) Write(p []byte) (int, error) {
	var buf []byte
	select {
	case buf = <-h.free:
	default:
		if h.made < hashScanBuffers {
			h.made++
			break
		}
		select {
		case buf = <-h.free:
		case <-h.stopped: // the scan ended early: stop hashing too
			return 0, h.stoppedErr()
		}
	}
	buf = append(buf[:0], p...)
	select {
	case h.full <- buf:
	case <-h.stopped:
		return 0, h.stoppedErr()
	}
	return len(p), nil
}

func (h *hashScan) stoppedErr() error {
	if h.res.err != nil {
		return h.res.err
	}
	return io.ErrClosedPipe
}

// finish ends the scan after hashing ended with hashErr, waits for the
// scanner and returns its findings. ok is false when the file was not
// scanned to its end (hashing failed, or the scan did).
func (h *hashScan) finish(hashErr error) (findings []scan.Finding, ok bool) {
	h.end = io.EOF
	if hashErr != nil {
		h.end = hashErr
	}
	close(h.full)
	<-h.stopped
	if hashErr != nil || h.res.err != nil {
		return nil, false
	}
	return h.res.findings, true
}

// hashScanReader is the scanner's side of a hashScan: the blocks written,
// in order, then h.end.
type hashScanReader struct {
	h    *hashScan
	held []byte // the block being read, to give back once read
	cur  []byte // what is left of it
}

func (r *hashScanReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.held != nil {
			r.h.free <- r.held // never blocks: free holds every buffer
			r.held = nil
		}
		b, ok := <-r.h.full
		if !ok {
			return 0, r.h.end // set before full was closed
		}
		r.held, r.cur = b, b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
