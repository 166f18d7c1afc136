package scan

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestScanLinesAroundSmallBlock: an input that ends within the first,
// small read, exactly at its end, or just past it is scanned whole, and a
// credential across the small read's end is found on its line, whatever
// the sizes the reader returns.
func TestScanLinesAroundSmallBlock(t *testing.T) {
	token := "gh" + "p_" + strings.Repeat("aB3", 12)
	for _, size := range []int{100, smallBlock - 1, smallBlock, smallBlock + 1, smallBlock + 4096, 3 * scanBlock / 2} {
		for _, at := range []int{0, smallBlock - len(token)/2, size - len(token) - 1} {
			if at < 0 || at+len(token)+1 > size {
				continue
			}
			text := []byte(strings.Repeat("filler words\n", size/13+1)[:size])
			if at > 0 {
				text[at-1] = '\n'
			}
			copy(text[at:], token)
			text[at+len(token)] = ' '
			wantLine := strings.Count(string(text[:at]), "\n") + 1
			readers := map[string]io.Reader{
				"whole":  strings.NewReader(string(text)),
				"halves": iotest.HalfReader(strings.NewReader(string(text))),
			}
			for how, r := range readers {
				got, err := scanLines(r, "t")
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].Line != wantLine || got[0].Kind != SecretGitHubToken {
					t.Errorf("%s reads, size %d, token at %d: found %v, want one GitHub token on line %d", how, size, at, got, wantLine)
				}
			}
		}
	}
}
