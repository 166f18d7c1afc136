package scan

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/mediatype"
)

// TestKeywordEscape checks which JSON escapes keep mayHoldCredential from
// ruling a component out: those that decode to a character a keyword may
// hold.
func TestKeywordEscape(t *testing.T) {
	for in, want := range map[string]bool{
		`"plain"`:            false,
		`"a\nb\tc\"d\\e"`:    false,
		`"\u0000\u001f"`:     false,
		`"\\/"`:              false, // an escaped backslash, then /
		`"https:\/\/x"`:      true,
		`"sk\u002dproj"`:     true,
		`"\u00e9"`:           true,
		`"\u0020"`:           true,
		`"\uZZZZ"`:           true,
		`"\u00"`:             true,
		`"a\\\/b"`:           true,
		`"\b\f\r" "\u001F"`:  false,
		`"end\\"`:            false,
		`{"k":"v","\\":"/"}`: false,
	} {
		if got := keywordEscape([]byte(in)); got != want {
			t.Errorf("keywordEscape(%s) = %v, want %v", in, got, want)
		}
	}
	// A keyword spelled with an escape is not ruled out.
	if !mayHoldCredential([]byte(`{"u":"postgres:\/\/a:b@c"}`), mediatype.FormatJSON) {
		t.Error("an escaped :// was ruled out")
	}
	if mayHoldCredential([]byte(`{"u":"plain text\nover lines"}`), mediatype.FormatJSON) {
		t.Error("a clean component was not ruled out")
	}
	if !mayHoldCredential([]byte("PASSWORD=x"), mediatype.FormatText) {
		t.Error("an upper-case keyword was ruled out")
	}
}

// TestScanLinesMatchesLineByLine: the block scanner and its prefilter find
// what the detectors find running on every line whole, for texts of lines
// short and long (some longer than a block), with credentials anywhere,
// across block and window boundaries included.
func TestScanLinesMatchesLineByLine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	token := func() string {
		const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		b := []byte("gh" + "p_")
		for range 36 {
			b = append(b, alnum[r.IntN(len(alnum))])
		}
		switch r.IntN(3) {
		case 0:
			return string(b)
		case 1:
			return "Authorization: Bearer " + string(b[4:]) + "9"
		}
		return "AK" + "IA" + strings.ToUpper(string(b[4:20]))
	}
	for round := range 4 {
		var text strings.Builder
		lines := 200 + r.IntN(200)
		for i := range lines {
			n := r.IntN(200)
			if r.IntN(50) == 0 {
				n = scanBlock/2 + r.IntN(2*scanBlock) // some lines span blocks
			}
			line := make([]byte, n)
			for j := range line {
				line[j] = "bcdfghjklmnqtvz bcdfghjklmnqtvz "[r.IntN(32)] // no keyword: the reference stays fast
			}
			for range r.IntN(3) {
				if r.IntN(4) == 0 && n > 0 {
					at := r.IntN(n + 1)
					line = append(line[:at:at], append([]byte(" "+token()+" "), line[at:]...)...)
				}
			}
			text.Write(line)
			if i < lines-1 || round%2 == 0 {
				text.WriteByte('\n')
			}
		}
		got, err := scanLines(strings.NewReader(text.String()), "t")
		if err != nil {
			t.Fatal(err)
		}
		var want []Finding
		var lower []byte
		for i, line := range strings.Split(text.String(), "\n") {
			lower = asciiLower(lower, []byte(line))
			for _, k := range detect([]byte(line), lower) {
				want = append(want, Finding{Component: "t", Line: i + 1, Kind: k})
			}
		}
		sortFindings := func(fs []Finding) {
			slices.SortFunc(fs, func(a, b Finding) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Kind, b.Kind)) })
		}
		sortFindings(got)
		sortFindings(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: block scan found %d: %v\nline by line %d: %v", round, len(got), got, len(want), want)
		}
		if len(want) == 0 {
			t.Fatalf("round %d: no credential placed", round)
		}
	}
}
