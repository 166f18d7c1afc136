package scan

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/internal/benchenv"
	"github.com/runid/runid-oci/mediatype"
)

// benchMiB is the size of the text of BenchmarkScanText, in MiB:
// RUNID_BENCH_MIB, default 4.
func benchMiB(b *testing.B) int { return benchenv.MiB(b, 4) }

// scanBenchText returns size bytes of text of one of two kinds: "letters",
// lower-case letters and spaces in lines of 72 (what go run ./bench
// pushes), or "prose", sentences of words with capitals, digits,
// punctuation, hyphens, snake_case names and the odd URL (what a corpus of
// documents and transcripts holds), in lines of up to 100 bytes.
func scanBenchText(kind string, size int) []byte {
	r := rand.New(rand.NewPCG(7, 7))
	out := make([]byte, 0, size+128)
	if kind == "letters" {
		for len(out) < size {
			for range 72 {
				out = append(out, "abcdefghijklmnopqrstuvwxyz "[r.IntN(27)])
			}
			out = append(out, '\n')
		}
		return out[:size]
	}
	// Common words, and now and then what prose holds besides: numbers,
	// dates, hyphenated words, names in snake_case, a colon, a URL.
	words := strings.Fields("the of and to in is was for on that with as by it at from this be are " +
		"an which or have has not but were their its had also more one all been than other " +
		"model models data results training system we our these they used using each when " +
		"report summary question answer time first new two may between after such both over")
	extras := strings.Fields("2024 3.5 17% 1,200 well-known follow-up max_tokens top_p Note: " +
		"https://example.com/paper (see below), Q&A \"quoted\" Monday. The It We")
	col := 0
	for len(out) < size {
		w := words[r.IntN(len(words))]
		if r.IntN(20) == 0 {
			w = extras[r.IntN(len(extras))]
		}
		if col+len(w) > 99 {
			out = append(out, '\n')
			col = 0
		}
		out = append(out, w...)
		out = append(out, ' ')
		col += len(w) + 1
	}
	return out[:size]
}

// BenchmarkScanText measures the credential scan of a text component
// (RUNID_BENCH_MIB MiB, default 4), next to SHA-256 of the same bytes.
func BenchmarkScanText(b *testing.B) {
	size := benchMiB(b) << 20
	for _, kind := range []string{"letters", "prose"} {
		text := scanBenchText(kind, size)
		b.Run(kind+"/scan", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				fs, err := Reader(bytes.NewReader(text), "t.txt", mediatype.FormatText)
				if err != nil || len(fs) != 0 {
					b.Fatal(err, fs)
				}
			}
		})
		b.Run(kind+"/sha256", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				digest.FromBytes(text)
			}
		})
	}
}
