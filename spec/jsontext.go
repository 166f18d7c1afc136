package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// checkJSONText checks that data is one JSON text (RFC 8259) that every
// parser reads alike: valid UTF-8 (encoding/json would turn an invalid
// byte into U+FFFD), and no object with two members of the same name at
// any depth (parsers keep the first, the last or both). Manifests and
// documents a reader fetches go through it before they are decoded
// (spec/SPEC.md §6.2).
func checkJSONText(data []byte) error {
	if line, col, bad := InvalidUTF8(data); bad {
		return fmt.Errorf("line %d, column %d: not valid UTF-8", line, col)
	}
	if !json.Valid(data) {
		return checkJSON(data)
	}
	if name, at, dup := duplicateMember(data); dup {
		line, col := lineCol(data, int64(at))
		return fmt.Errorf("line %d, column %d: member %s appears twice in one object", line, col, strconv.Quote(name))
	}
	return nil
}

// duplicateMember finds the first object member of a valid JSON text whose
// name (after unescaping) an earlier member of the same object has: the
// name, its offset and true.
func duplicateMember(data []byte) (string, int, bool) {
	type object struct{ names map[string]bool }
	var stack []*object
	expectName := false // the next string in the current object is a name
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '{':
			stack = append(stack, &object{})
			expectName = true
		case '[':
			stack = append(stack, nil)
			expectName = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			expectName = false
		case ',':
			expectName = len(stack) > 0 && stack[len(stack)-1] != nil
		case '"':
			start := i
			for i++; data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if !expectName {
				continue
			}
			expectName = false
			raw := data[start+1 : i]
			name := string(raw)
			if bytes.IndexByte(raw, '\\') >= 0 {
				_ = json.Unmarshal(data[start:i+1], &name)
			}
			o := stack[len(stack)-1]
			if o.names == nil {
				o.names = map[string]bool{}
			}
			if o.names[name] {
				return name, start, true
			}
			o.names[name] = true
		}
	}
	return "", 0, false
}
