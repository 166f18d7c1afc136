package spec

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// Recognising canonical JSON.
//
// RFC 8785 text has one spelling per value: no whitespace; object members
// sorted by the UTF-16 code units of their names, each name once; strings
// escaped only where JSON requires it (", \, and control characters, as
// \b \t \n \f \r or \u00xx in lower case); numbers as ECMAScript writes
// them. isCanonical checks exactly that, in one pass and without building
// anything, so that Canonicalize can skip the transform for a text that is
// its own canonical form. It is deliberately strict: anything it does not
// accept goes through the transform (github.com/gowebpki/jcs), which is
// still the only producer of canonical forms; the numbers it accepts are
// the ones jcs.NumberToJSON writes. So isCanonical(x) must imply
// jcs.Transform(x) == x, which TestIsCanonical and FuzzCanonicalize check
// against the transform.

// maxCanonicalDepth bounds the nesting isCanonical follows; deeper
// texts go through the transform, whose checker (encoding/json, 10000
// levels) reports them.
const maxCanonicalDepth = 10000

// isCanonical reports whether data, valid UTF-8, is a JSON text in RFC
// 8785 canonical form.
func isCanonical(data []byte) bool {
	c := canonChecker{data: data}
	return c.value(0) && c.i == len(data)
}

type canonChecker struct {
	data []byte
	i    int
}

// value checks the canonical value at c.i and moves past it.
func (c *canonChecker) value(depth int) bool {
	if c.i >= len(c.data) || depth >= maxCanonicalDepth {
		return false
	}
	switch b := c.data[c.i]; b {
	case '{':
		return c.object(depth)
	case '[':
		return c.array(depth)
	case '"':
		_, ok := c.str()
		return ok
	case 't':
		return c.literal("true")
	case 'f':
		return c.literal("false")
	case 'n':
		return c.literal("null")
	default:
		if b == '-' || '0' <= b && b <= '9' {
			return c.number()
		}
		return false
	}
}

func (c *canonChecker) literal(lit string) bool {
	if !bytes.HasPrefix(c.data[c.i:], []byte(lit)) {
		return false
	}
	c.i += len(lit)
	return true
}

func (c *canonChecker) object(depth int) bool {
	c.i++ // {
	if c.i < len(c.data) && c.data[c.i] == '}' {
		c.i++
		return true
	}
	var prev []byte
	for n := 0; ; n++ {
		if c.i >= len(c.data) || c.data[c.i] != '"' {
			return false
		}
		key, ok := c.str()
		if !ok {
			return false
		}
		// Strictly increasing: a repeated name is a duplicate, which the
		// transform rejects.
		if n > 0 && compareKeys(prev, key) >= 0 {
			return false
		}
		prev = key
		if c.i >= len(c.data) || c.data[c.i] != ':' {
			return false
		}
		c.i++
		if !c.value(depth + 1) {
			return false
		}
		if end, ok := c.next('}'); !ok || end {
			return ok
		}
	}
}

// next consumes the separator after a member or an element: a comma
// (more follow) or close (the end). ok is false on anything else.
func (c *canonChecker) next(close byte) (end, ok bool) {
	if c.i >= len(c.data) {
		return false, false
	}
	switch c.data[c.i] {
	case ',':
		c.i++
		return false, true
	case close:
		c.i++
		return true, true
	}
	return false, false
}

func (c *canonChecker) array(depth int) bool {
	c.i++ // [
	if c.i < len(c.data) && c.data[c.i] == ']' {
		c.i++
		return true
	}
	for {
		if !c.value(depth + 1) {
			return false
		}
		if end, ok := c.next(']'); !ok || end {
			return ok
		}
	}
}

// str checks a canonical string at c.i (its opening quote) and returns
// its bytes between the quotes, escapes as written.
func (c *canonChecker) str() ([]byte, bool) {
	c.i++ // "
	start := c.i
	for c.i < len(c.data) {
		// Eight bytes at a time while none needs a look.
		for c.i+8 <= len(c.data) && plainWord(binary.LittleEndian.Uint64(c.data[c.i:])) {
			c.i += 8
		}
		if c.i >= len(c.data) {
			break
		}
		b := c.data[c.i]
		switch {
		case b == '"':
			s := c.data[start:c.i]
			c.i++
			return s, true
		case b < 0x20:
			return nil, false // a control character must be escaped
		case b == '\\':
			n := escapeLen(c.data[c.i:])
			if n == 0 {
				return nil, false
			}
			c.i += n
		default:
			c.i++ // other bytes as they are (the text is valid UTF-8)
		}
	}
	return nil, false
}

// plainWord reports whether none of the eight bytes of w is a quote, a
// backslash or a control character (SWAR: a byte of x - 0x01.. borrows
// into its top bit where it was zero, and x - n*0x01.. where it was below
// n; bytes from 0x80 are masked out by ^x).
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := w ^ ('"' * ones)
	backslash := w ^ ('\\' * ones)
	return ((w-0x20*ones)&^w|(quote-ones)&^quote|(backslash-ones)&^backslash)&highs == 0
}

// escapeLen returns the length of the canonical escape sequence at the
// start of s (a backslash), or 0 if it is not one: \" \\ \b \f \n \r \t,
// and \u00xx, in lower-case hex, for the other control characters.
func escapeLen(s []byte) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case '"', '\\', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(s) < 6 || s[2] != '0' || s[3] != '0' {
			return 0
		}
		hi, lo := s[4], s[5]
		if hi != '0' && hi != '1' {
			return 0
		}
		v, ok := lowerHex(lo)
		if !ok {
			return 0
		}
		if hi == '1' {
			v += 16
		}
		switch v {
		case '\b', '\f', '\n', '\r', '\t':
			return 0 // these have short escapes
		}
		return 6
	}
	return 0
}

func lowerHex(b byte) (byte, bool) {
	switch {
	case '0' <= b && b <= '9':
		return b - '0', true
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10, true
	}
	return 0, false
}

// number checks a canonical number at c.i: the spelling that
// jcs.NumberToJSON gives its value.
func (c *canonChecker) number() bool {
	start := c.i
	for c.i < len(c.data) {
		b := c.data[c.i]
		if '0' <= b && b <= '9' || b == '-' || b == '+' || b == '.' || b == 'e' || b == 'E' {
			c.i++
			continue
		}
		break
	}
	s := c.data[start:c.i]
	if shortInteger(s) {
		return true
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return false
	}
	want, err := jcs.NumberToJSON(f)
	return err == nil && want == string(s)
}

// shortInteger reports whether s is 0 or an integer of at most 15 digits
// without a leading zero, optionally negative: each is an exact double,
// and its own ECMAScript spelling.
func shortInteger(s []byte) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
		if len(s) == 1 && s[0] == '0' {
			return false // -0 is written 0
		}
	}
	if len(s) == 0 || len(s) > 15 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for _, b := range s {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

// compareKeys compares two member names, as written in canonical
// strings, by their UTF-16 code units (RFC 8785 §3.2.3).
func compareKeys(a, b []byte) int {
	// Without escapes and characters beyond U+FFFF, the order of UTF-8
	// bytes is the order of code points, which is the order of UTF-16
	// code units.
	if plainKey(a) && plainKey(b) {
		return bytes.Compare(a, b)
	}
	ua, ub := utf16Key(a), utf16Key(b)
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			if ua[i] < ub[i] {
				return -1
			}
			return 1
		}
	}
	return len(ua) - len(ub)
}

// plainKey reports whether a name has no escape and no character beyond
// U+FFFF (whose UTF-8 encoding starts with a byte from 0xF0).
func plainKey(s []byte) bool {
	for _, b := range s {
		if b == '\\' || b >= 0xF0 {
			return false
		}
	}
	return true
}

// utf16Key decodes a name written as a canonical string into UTF-16 code
// units.
func utf16Key(s []byte) []uint16 {
	out := make([]uint16, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] == '\\' {
			switch s[i+1] {
			case 'u':
				v, _ := strconv.ParseUint(string(s[i+2:i+6]), 16, 16)
				out = append(out, uint16(v))
				i += 6
			default:
				out = append(out, uint16(unescape[s[i+1]]))
				i += 2
			}
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		out = utf16.AppendRune(out, r)
		i += n
	}
	return out
}

// unescape maps the letter of a short escape to its character.
var unescape = [256]byte{'"': '"', '\\': '\\', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
