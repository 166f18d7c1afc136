package spec

import "unicode/utf8"

// InvalidUTF8 finds the first byte of data that is not part of valid
// UTF-8: its 1-based line and column (in characters) and true, or false
// when data is valid UTF-8. Where bytes become text (declarations,
// component text, names), invalid UTF-8 is refused with this position,
// never replaced by U+FFFD (spec/SPEC.md §4).
func InvalidUTF8(data []byte) (line, col int, found bool) {
	if utf8.Valid(data) {
		return 0, 0, false
	}
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return line, col, true
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		i += n
	}
	return line, col, true
}
