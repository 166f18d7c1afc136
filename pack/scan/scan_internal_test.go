package scan

import (
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
