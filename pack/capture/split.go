package capture

import (
	"bytes"
	"encoding/json"

	"github.com/runid/runid-oci/spec"
)

// Splitting canonical JSON.
//
// The values the importer takes apart are pieces of the request's RFC 8785
// form, or json components, which are in that form too: no whitespace, and
// a string ends at the first quote that no backslash escapes. Once
// spec.IsCanonical has checked a text (one pass that builds nothing), its
// members and elements are found by skipping strings and counting
// brackets, where encoding/json would check the text and then decode it,
// copying every value. A text that is not canonical is decoded with
// encoding/json, as before.

// splitArray returns the elements of a canonical JSON array, as they are
// written (sharing v's bytes); ok is false when v is not one.
func splitArray(v []byte) ([]json.RawMessage, bool) {
	if len(v) < 2 || v[0] != '[' || !spec.IsCanonical(v) {
		return nil, false
	}
	out := []json.RawMessage{}
	for i := 1; v[i] != ']'; {
		end := skipValue(v, i)
		out = append(out, v[i:end:end])
		if v[end] == ',' {
			end++
		}
		i = end
	}
	return out, true
}

// splitObject returns the members of a canonical JSON object, their values
// as they are written (sharing v's bytes); ok is false when v is not one.
func splitObject(v []byte) (fields, bool) {
	if len(v) < 2 || v[0] != '{' || !spec.IsCanonical(v) {
		return nil, false
	}
	out := fields{}
	for i := 1; v[i] != '}'; {
		kend := skipValue(v, i)
		key := v[i+1 : kend-1]
		var name string
		if bytes.IndexByte(key, '\\') < 0 {
			name = string(key)
		} else if json.Unmarshal(v[i:kend], &name) != nil {
			return nil, false
		}
		i = kend + 1 // :
		end := skipValue(v, i)
		out[name] = v[i:end:end]
		if v[end] == ',' {
			end++
		}
		i = end
	}
	return out, true
}

// skipValue returns the end of the value that starts at v[i], in a
// canonical text.
func skipValue(v []byte, i int) int {
	depth := 0
	for {
		switch v[i] {
		case '"':
			i = skipString(v, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i // the end of the enclosing value
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
		if depth == 0 && i == len(v) {
			return i
		}
	}
}

// skipString returns the index after the string that starts at v[i]: after
// the first quote not escaped, that is, not after an odd number of
// backslashes.
func skipString(v []byte, i int) int {
	i++
	for {
		q := i + bytes.IndexByte(v[i:], '"')
		n := 0
		for k := q - 1; k >= i && v[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}
