package scan

import (
	"bytes"
	"io"
)

// Sizes of the line scanner, for tests that put credentials at its
// boundaries.
const (
	ScanBlock   = scanBlock
	ScanChunk   = scanChunk
	ScanOverlap = scanOverlap
)

// BenchText is scanBenchText, for tests outside the package.
var BenchText = scanBenchText

// RegexpsOnEveryLine scans a text component without the prefilter: every
// line goes through the detectors, in the same windows as scanLines uses.
// It is what the prefilter must never change.
func RegexpsOnEveryLine(r io.Reader, name string) ([]Finding, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	s := &lineScanner{name: name, seen: map[SecretKind]bool{}}
	for i, line := range bytes.Split(data, []byte("\n")) {
		s.detectLine(line, i+1)
	}
	return s.out, nil
}
