package scan

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// bearerLinesNaive is what bearerLines must return: the lines of p that
// hold "bearer" in any mix of cases, found one position at a time.
func bearerLinesNaive(p []byte) [][2]int {
	var out [][2]int
	start := 0
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		text := bytes.TrimSuffix(line, []byte("\n"))
		if bytes.Contains(bytes.ToLower(text), []byte("bearer")) {
			out = append(out, [2]int{start, start + len(text)})
		}
		start += len(line)
	}
	return out
}

// TestBearerLines: the eight-bytes-at-a-time search finds every line
// holding "bearer" in any case, wherever the word falls in a word of
// eight bytes, at the very start and end of the block, several times on
// a line and on lines side by side, among near misses ("rer" alone,
// "bearr", "bea rer", letters one bit away from b, e, a, r) and bytes
// that become those letters only if folded wrongly (0x80 and above).
func TestBearerLines(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 27))
	spellings := []string{"bearer", "BEARER", "Bearer", "bEaReR", "beareR", "BEAREr"}
	misses := []string{"rer", "earer", "bearr", "bea rer", "cearer", "bearet", "bezrer", "\xe2\x80\x8bearer", "b\xc5arer", "rerer", "rrer", "berer"}
	alphabet := "abcdefghijklmnopqrstuvwxyz ERBA\t\xc3\xa9"
	for round := range 3000 {
		var p []byte
		for range 1 + r.IntN(12) {
			for range r.IntN(20) {
				p = append(p, alphabet[r.IntN(len(alphabet))])
			}
			switch r.IntN(4) {
			case 0:
				p = append(p, spellings[r.IntN(len(spellings))]...)
			case 1:
				p = append(p, misses[r.IntN(len(misses))]...)
			case 2:
				p = append(p, '\n')
			}
		}
		if round%3 == 0 { // the word as the block's last bytes
			p = append(p, spellings[r.IntN(len(spellings))]...)
		}
		got := bearerLines(p, nil)
		if w := bearerLinesNaive(p); !slices.Equal(got, w) {
			t.Fatalf("%q: bearerLines = %v, want %v", p, got, w)
		}
	}
	// Every offset of the word in a block, with nothing else on the line.
	for off := range 40 {
		for _, sp := range spellings {
			p := []byte(strings.Repeat("x", off) + sp + strings.Repeat("y", 40-off))
			for _, q := range [][]byte{p, p[:off+6]} {
				if got, w := bearerLines(q, nil), bearerLinesNaive(q); !slices.Equal(got, w) || len(got) != 1 {
					t.Fatalf("%q: bearerLines = %v, want %v", q, got, w)
				}
			}
		}
	}
	// Nothing in text without the word.
	if got := bearerLines(scanBenchText("prose", 1<<16), nil); len(got) != len(bearerLinesNaive(scanBenchText("prose", 1<<16))) {
		t.Fatalf("prose: bearerLines = %v", got)
	}
}
