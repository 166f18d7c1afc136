package pack

import (
	"io"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
)

// hashScan scans a text file for credentials from the bytes that Build
// reads to hash it. Build writes each read into it (through an
// io.TeeReader) and hashes it while the scanner goroutine, which received
// a copy, scans it: hashing and scanning run side by side, and the file is
// read once.
type hashScan struct {
	pw   *io.PipeWriter
	done chan hashScanResult
}

type hashScanResult struct {
	findings []scan.Finding
	err      error
}

// startHashScan starts the scanner of the text component name.
func startHashScan(name string) *hashScan {
	pr, pw := io.Pipe()
	h := &hashScan{pw: pw, done: make(chan hashScanResult, 1)}
	go func() {
		fs, err := scan.Reader(pr, name, mediatype.FormatText)
		// A scan that stopped early fails the writes that follow (and so
		// the hashing) instead of blocking them.
		pr.CloseWithError(err)
		h.done <- hashScanResult{fs, err}
	}()
	return h
}

// Write hands p to the scanner; it returns once the scanner has copied it.
func (h *hashScan) Write(p []byte) (int, error) { return h.pw.Write(p) }

// finish ends the scan after hashing ended with hashErr, waits for the
// scanner and returns its findings. ok is false when the file was not
// scanned to its end (hashing failed, or the scan did).
func (h *hashScan) finish(hashErr error) (findings []scan.Finding, ok bool) {
	if hashErr != nil {
		h.pw.CloseWithError(hashErr)
	} else {
		h.pw.Close()
	}
	res := <-h.done
	if hashErr != nil || res.err != nil {
		return nil, false
	}
	return res.findings, true
}
