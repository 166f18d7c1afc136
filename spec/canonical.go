package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// Canonicalize returns the RFC 8785 (JSON Canonicalization Scheme) form of a
// JSON text (spec/SPEC.md §4.4). Invalid JSON, duplicate object keys and
// trailing data are errors wrapping ErrInvalidJSON, with the line and column
// of a syntax error where the decoder gives it.
//
// A text that is already canonical (see IsCanonical) is returned as a copy
// after one pass over it, without being transformed again: the builders
// canonicalize what they have canonicalized before (a component part, then
// the composition's check of it; a request, then its parts), and the
// transform costs several times that pass.
func Canonicalize(data []byte) ([]byte, error) {
	if line, col, bad := InvalidUTF8(data); bad {
		return nil, fmt.Errorf("%w: line %d, column %d: not valid UTF-8", ErrInvalidJSON, line, col)
	}
	if isCanonical(data) {
		return bytes.Clone(data), nil
	}
	return transform(data)
}

// transform is Canonicalize for a UTF-8 text that is not known to be
// canonical: encoding/json checks it, then github.com/gowebpki/jcs
// transforms it. Whatever json.Valid accepts, checkJSON accepts too, and
// json.Valid builds nothing: checkJSON runs only to place an error.
func transform(data []byte) ([]byte, error) {
	if !json.Valid(data) {
		if err := checkJSON(data); err != nil {
			return nil, err
		}
	}
	if off, lit := underflow(data); off >= 0 {
		line, col := lineCol(data, int64(off))
		return nil, fmt.Errorf("%w: line %d, column %d: number %s is too small for a double: it would become 0", ErrInvalidJSON, line, col, lit)
	}
	out, err := jcs.Transform(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	return out, nil
}

// IsCanonical reports whether data is a JSON text in RFC 8785 canonical
// form, that is, whether Canonicalize would return it unchanged. It reads
// data once and allocates nothing for common texts.
func IsCanonical(data []byte) bool {
	return utf8.Valid(data) && isCanonical(data)
}

// MarshalCanonical encodes v with encoding/json and canonicalizes the result.
// It encodes without encoding/json's HTML escaping (<, > and & as \u003c,
// \u003e, \u0026), which RFC 8785 undoes anyway: the encoding of a value
// whose object keys are sorted, such as a map of canonical
// json.RawMessage, is then often canonical already.
func MarshalCanonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return Canonicalize(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func checkJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return jsonPosError(data, err)
	}
	if dec.More() {
		off := dec.InputOffset()
		line, col := lineCol(data, off)
		return fmt.Errorf("%w: line %d, column %d: data after the JSON value", ErrInvalidJSON, line, col)
	}
	return nil
}

func jsonPosError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off >= 0 {
		line, col := lineCol(data, off)
		return fmt.Errorf("%w: line %d, column %d: %v", ErrInvalidJSON, line, col, err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidJSON, err)
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// underflow finds the first number of a valid JSON text that is not zero
// but is too small for a double, which would silently become 0: its
// offset and spelling, or -1. Only a literal with an exponent or of more
// than 300 bytes can underflow, so only those are parsed.
func underflow(data []byte) (int, string) {
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '-' || c >= '0' && c <= '9':
			j := i
			for j < len(data) && strings.IndexByte("+-.0123456789eE", data[j]) >= 0 {
				j++
			}
			lit := string(data[i:j])
			if strings.ContainsAny(lit, "eE") || len(lit) > 300 {
				if f, err := strconv.ParseFloat(lit, 64); err == nil && f == 0 && nonZeroMantissa(lit) {
					return i, lit
				}
			}
			i = j - 1
		}
	}
	return -1, ""
}
