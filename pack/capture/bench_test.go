package capture_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runid/runid-oci/pack/capture"
)

// benchBody returns a Chat Completions request body of about size bytes,
// shaped as the proxy benchmark's (a system message, one long user
// message, two parameters).
func benchBody(size int) []byte {
	filler := strings.Repeat("The quick brown fox jumps over the lazy dog. ", max(1, size/45))
	return fmt.Appendf(nil, `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You answer questions about the attached report."},`+
		`{"role":"user","content":%q}],"temperature":0.2,"max_tokens":256}`, filler)
}

// BenchmarkImport imports Chat Completions bodies of 0.6, 10 and 100 KB
// and every realistic request of testdata/requests: the importer's share
// of the proxy's work per request.
func BenchmarkImport(b *testing.B) {
	for _, size := range []int{600, 10_000, 100_000} {
		body := benchBody(size)
		b.Run(fmt.Sprintf("chat-%dB", size), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := capture.Import(b.Context(), capture.FormatOpenAIChat, body, capture.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
