package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// The declaration's data model is JSON's (spec/SPEC.md §4.1). A YAML
// declaration is read as one YAML 1.2 document, and plain (unquoted)
// scalars are resolved with the YAML 1.2 core schema alone, so that every
// implementation reads the same values whatever YAML library it uses:
//
//	null:  null | Null | NULL | ~ | (empty)
//	bool:  true | True | TRUE | false | False | FALSE
//	int:   [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
//	float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
//	       (.inf, .nan and their variants are rejected: JSON has no such numbers)
//	anything else: a string
//
// Quoted scalars and block scalars are strings. Anchors, aliases, tags,
// merge keys, complex keys and non-string mapping keys are rejected, as is
// a duplicate key in any mapping.

// MaxDeclarationDepth bounds the nesting of a declaration (spec/SPEC.md
// §4.1). It is checked on the raw bytes before parsing, because YAML
// parsers can take memory that grows with the square of the depth.
const MaxDeclarationDepth = 64

// yamlScalarRE holds the YAML 1.2 core schema's scalar patterns, compiled
// on first use so that a process that parses no declaration does not pay
// for them when it starts.
var yamlScalarRE = sync.OnceValue(func() (r struct{ null, bool, int, oct, hex, float, infNaN *regexp.Regexp }) {
	r.null = regexp.MustCompile(`^(null|Null|NULL|~|)$`)
	r.bool = regexp.MustCompile(`^(true|True|TRUE|false|False|FALSE)$`)
	r.int = regexp.MustCompile(`^[-+]?[0-9]+$`)
	r.oct = regexp.MustCompile(`^0o[0-7]+$`)
	r.hex = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)
	r.float = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
	r.infNaN = regexp.MustCompile(`^([-+]?\.(inf|Inf|INF)|\.nan|\.NaN|\.NAN)$`)
	return r
})

// yamlValue is an error located at a field path and line.
type yamlValueError struct {
	path []string
	line int
	msg  string
	err  error
}

func (e *yamlValueError) Error() string { return e.msg }

// toValue converts a parsed YAML node to a JSON-model value: map[string]any,
// []any, string, bool, nil, or json.Number.
func toValue(n ast.Node, path []string) (any, error) {
	return toValueWith(n, path, nil)
}

// valueHook, if it returns ok, gives the value of a node in place of its
// conversion; inBlockSequence says whether the node is an item of a block
// sequence. An error stops the conversion.
type valueHook func(n ast.Node, inBlockSequence bool) (v any, ok bool, err error)

// toValueWith is toValue with a hook consulted for every node.
func toValueWith(n ast.Node, path []string, hook valueHook) (any, error) {
	return toValueIn(n, path, hook, false)
}

func toValueIn(n ast.Node, path []string, hook valueHook, inBlockSequence bool) (any, error) {
	if hook != nil {
		if v, ok, err := hook(n, inBlockSequence); err != nil || ok {
			return v, err
		}
	}
	fail := func(err error, format string, a ...any) error {
		line := 0
		if n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
			line = n.GetToken().Position.Line
		}
		return &yamlValueError{path: path, line: line, msg: fmt.Sprintf(format, a...), err: err}
	}
	switch v := n.(type) {
	case nil:
		return nil, nil
	case *ast.NullNode:
		return nil, nil
	case *ast.MappingNode:
		return mappingValue(v.Values, path, hook)
	case *ast.MappingValueNode:
		return mappingValue([]*ast.MappingValueNode{v}, path, hook)
	case *ast.SequenceNode:
		out := make([]any, 0, len(v.Values))
		for i, item := range v.Values {
			x, err := toValueIn(item, append(path, strconv.Itoa(i)), hook, !v.IsFlowStyle)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case *ast.StringNode:
		if v.Token != nil && (v.Token.Type == token.DoubleQuoteType || v.Token.Type == token.SingleQuoteType) {
			return v.Value, nil
		}
		return resolvePlain(v.Value, fail)
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", nil
		}
		return v.Value.Value, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return resolvePlain(n.GetToken().Value, fail)
	case *ast.TagNode:
		return nil, fail(ErrInvalidDeclaration, "YAML tags (%s) are not allowed in a declaration", v.Start.Value)
	case *ast.AnchorNode, *ast.AliasNode:
		return nil, fail(ErrInvalidDeclaration, "YAML anchors and aliases are not allowed in a declaration; write the value out")
	case *ast.CommentNode, *ast.CommentGroupNode:
		return nil, nil
	}
	return nil, fail(ErrInvalidDeclaration, "unsupported YAML construct (%s)", n.Type())
}

func mappingValue(values []*ast.MappingValueNode, path []string, hook valueHook) (any, error) {
	out := make(map[string]any, len(values))
	lines := make(map[string]int, len(values))
	for _, mv := range values {
		line := 0
		if t := mv.Key.GetToken(); t != nil && t.Position != nil {
			line = t.Position.Line
		}
		keyErr := func(format string, a ...any) error {
			return &yamlValueError{path: path, line: line, msg: fmt.Sprintf(format, a...), err: ErrInvalidDeclaration}
		}
		var key string
		switch k := mv.Key.(type) {
		case *ast.StringNode:
			key = k.Value
			if k.Token != nil && k.Token.Type != token.DoubleQuoteType && k.Token.Type != token.SingleQuoteType {
				if v, _ := resolvePlain(k.Value, func(error, string, ...any) error { return nil }); v != any(k.Value) {
					return nil, keyErr("mapping key %s is not a string in YAML 1.2; quote it", k.Value)
				}
			}
		case *ast.MergeKeyNode:
			return nil, keyErr("YAML merge keys (<<) are not allowed in a declaration")
		default:
			return nil, keyErr("mapping key %q is not a string; quote it", mv.Key.String())
		}
		if prev, dup := lines[key]; dup {
			return nil, &yamlValueError{path: append(path, key), line: line, err: ErrInvalidDeclaration,
				msg: fmt.Sprintf("duplicate key %q (first at line %d)", key, prev)}
		}
		lines[key] = line
		v, err := toValueWith(mv.Value, append(path, key), hook)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	return out, nil
}

func resolvePlain(s string, fail func(error, string, ...any) error) (any, error) {
	re := yamlScalarRE()
	switch {
	case re.null.MatchString(s):
		return nil, nil
	case re.bool.MatchString(s):
		return strings.EqualFold(s, "true"), nil
	case re.int.MatchString(s):
		s = strings.TrimPrefix(s, "+")
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimLeft(strings.TrimPrefix(s, "-"), "0")
		if s == "" {
			s = "0"
		}
		if neg && s != "0" {
			s = "-" + s
		}
		return json.Number(s), nil
	case re.oct.MatchString(s), re.hex.MatchString(s):
		base, digits := 8, s[2:]
		if s[1] == 'x' {
			base = 16
		}
		u, err := strconv.ParseUint(digits, base, 64)
		if err != nil {
			return nil, fail(ErrInvalidJSON, "integer %s is out of range", s)
		}
		return json.Number(strconv.FormatUint(u, 10)), nil
	case re.float.MatchString(s):
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fail(ErrInvalidJSON, "number %s is out of range for JSON", s)
		}
		if f == 0 && nonZeroMantissa(s) {
			return nil, fail(ErrInvalidJSON, "number %s is too small for a double: it would become 0", s)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case re.infNaN.MatchString(s):
		return nil, fail(ErrInvalidJSON, "%s is not a JSON number (JSON has no infinity or NaN); quote it if it is text", s)
	}
	return s, nil
}

// textError is a character that a declaration may not hold, at a 1-based
// line and column (counted in characters; an invalid byte counts as one).
type textError struct {
	line, col int
	msg       string
}

func (e *textError) Error() string { return e.msg }

// checkText refuses a declaration that is not valid UTF-8 or holds a
// character outside YAML 1.2's printable set (spec/SPEC.md §4): C0 controls
// other than tab, line feed and carriage return, DEL, C1 controls other
// than NEL (U+0085), surrogates, U+FFFE and U+FFFF. Nothing is replaced:
// bytes that are not text would otherwise become U+FFFD, and distinct
// declarations would share an identity.
func checkText(data []byte) *textError {
	line, col := 1, 1
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				line, col = line+1, 1
				i++
				continue
			case c < 0x20 && c != '\t' && c != '\r', c == 0x7f:
				return &textError{line, col, fmt.Sprintf("control character U+%04X; write it as an escape in a double-quoted scalar", c)}
			}
			i, col = i+1, col+1
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return &textError{line, col, fmt.Sprintf("byte 0x%02X is not valid UTF-8; a declaration is UTF-8 text", c)}
		case r >= 0x80 && r <= 0x9f && r != 0x85, r == 0xfffe, r == 0xffff:
			return &textError{line, col, fmt.Sprintf("character U+%04X is not allowed in YAML; write it as an escape in a double-quoted scalar", r)}
		}
		i, col = i+n, col+1
	}
	return nil
}

// checkLayout makes two checks on the raw text of a declaration, after
// checkText, before any parser sees it:
//
//   - a tab is allowed only in a comment or in the content of a block
//     scalar (| or >); anywhere else (indentation, separation, plain and
//     quoted scalars) it is refused, so that no YAML parser's handling of
//     tabs can change what a declaration means;
//   - nesting that surely exceeds MaxDeclarationDepth is refused: flow
//     brackets that open a node, and block sequence dashes at the start of
//     a line. Each of those is a collection of its own, so their count
//     never exceeds the real depth, which ParseDeclaration then checks
//     exactly on the parsed value; this bound only spares the parser input
//     that would cost memory growing with the square of its depth.
//
// Quoted scalars, comments and block scalar content are skipped where YAML
// starts them.
func checkLayout(data []byte) *textError { return checkLayoutDepth(data, MaxDeclarationDepth) }

// CheckYAMLTabs checks the raw bytes of a yaml component (spec/SPEC.md
// §4.3) as checkLayout checks a declaration's, without the depth bound: a
// tab is allowed only in a comment or in the content of a block scalar.
// YAML allows tabs in more places, but YAML libraries disagree about them
// (one refuses a tab in a double-quoted scalar when a later line separates
// a key from its value with a tab), and packers must accept the same
// components. The error gives the line and the column (1-based, in
// characters) of the tab.
func CheckYAMLTabs(data []byte) error {
	if te := checkLayoutDepth(data, 0); te != nil {
		// Without a depth bound, a tab is the only thing refused.
		return fmt.Errorf("line %d, column %d: tab character; a yaml component takes tabs only in comments and block scalars: "+
			"indent and separate with spaces, write \\t in a double-quoted scalar, or declare the file as text", te.line, te.col)
	}
	return nil
}

// checkLayoutDepth is checkLayout with another depth bound; 0: none.
func checkLayoutDepth(data []byte, maxDepth int) *textError {
	depth, quote := 0, byte(0)
	line, lineStart := 1, 0
	blockParent := -2 // inside block scalar content: indentation of its parent; -2: not
	atLineStart, dashes := true, 0
	prev := byte('\n')       // previous significant byte outside quotes
	beforePrev := byte('\n') // the significant byte before prev
	nodeCol, dashCol := 0, 0 // column of the current block node, of the last dash
	colOf := func(i int) int { return utf8.RuneCount(data[lineStart:i]) + 1 }
	for i := 0; i < len(data); i++ {
		c := data[i]
		if blockParent > -2 && i == lineStart {
			// A line of block scalar content: blank, or indented more
			// than the scalar's parent.
			j := i
			for j < len(data) && data[j] == ' ' {
				j++
			}
			if j == len(data) || data[j] == '\n' || data[j] == '\r' || j-i > blockParent {
				if k := bytes.IndexByte(data[i:], '\n'); k >= 0 {
					i += k
					line, lineStart = line+1, i+1
					continue
				}
				return nil
			}
			blockParent = -2
		}
		if quote != 0 {
			switch {
			case c == '\t':
				return &textError{line, colOf(i), "tab character in a quoted scalar; write \\t in a double-quoted scalar"}
			case c == '\\' && quote == '"':
				if i+1 < len(data) && data[i+1] == '\n' {
					line, lineStart = line+1, i+2
				}
				i++
			case c == '\'' && quote == '\'' && i+1 < len(data) && data[i+1] == '\'':
				i++
			case c == quote:
				quote, prev = 0, c
			case c == '\n':
				line, lineStart = line+1, i+1
			}
			continue
		}
		switch c {
		case '\n':
			line, lineStart = line+1, i+1
			atLineStart, dashes, prev = true, 0, '\n'
			continue
		case '\t':
			return &textError{line, colOf(i), "tab character; YAML allows a tab here, but a declaration takes tabs only in comments and block scalars: indent and separate with spaces, and write \\t in a double-quoted scalar"}
		case ' ', '\r':
			if i+1 < len(data) && data[i+1] == '#' {
				i = skipComment(data, i)
			}
			continue
		}
		col := i - lineStart + 1 // bytes; only spaces and dashes precede what it places
		if atLineStart {
			nodeCol = col - 1
			if c == '-' && i+3 <= len(data) && string(data[i:i+3]) == "---" && (i+3 == len(data) || data[i+3] == ' ' || data[i+3] == '\n' || data[i+3] == '\r') {
				i += 2
				continue // a document marker; prev stays a line start
			}
		}
		if depth == 0 && c == '-' && (prev == '\n' || prev == '-') && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\r') {
			dashes++
			if maxDepth > 0 && dashes > maxDepth {
				return &textError{line, colOf(i), fmt.Sprintf("nested deeper than %d levels", MaxDeclarationDepth)}
			}
			atLineStart, prev, dashCol, nodeCol = false, '-', col-1, col+1
			continue
		}
		wasLineStart := atLineStart
		atLineStart = false
		if prev == '-' && dashes > 0 {
			nodeCol = col - 1
		}
		switch c {
		case '#':
			if wasLineStart || prev == '\n' {
				i = skipComment(data, i-1)
				continue
			}
		case '"', '\'':
			if startsNode(data, i, prev, beforePrev, depth) {
				quote, beforePrev = c, prev
				continue
			}
		case '|', '>':
			if depth == 0 && strings.IndexByte("\n:-?", prev) >= 0 {
				switch prev {
				case '\n':
					blockParent = -1
				case '-':
					blockParent = dashCol
				default:
					blockParent = nodeCol
				}
				// The rest of the header line (indicators, a comment)
				// is not content.
				k := bytes.IndexByte(data[i:], '\n')
				if k < 0 {
					return nil
				}
				if t := bytes.IndexByte(data[i:i+k], '\t'); t >= 0 && bytes.IndexByte(data[i:i+t], '#') < 0 {
					return &textError{line, colOf(i + t), "tab character; indent and separate with spaces"}
				}
				i += k
				line, lineStart = line+1, i+1
				atLineStart, dashes, prev = true, 0, '\n'
				continue
			}
		case '[', '{':
			if !startsNode(data, i, prev, beforePrev, depth) {
				// A character of a plain scalar: what follows it is too.
				prev, beforePrev = 'a', prev
				continue
			}
			depth++
			if maxDepth > 0 && depth > maxDepth {
				return &textError{line, colOf(i), fmt.Sprintf("nested deeper than %d levels", MaxDeclarationDepth)}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
		prev, beforePrev = c, prev
	}
	return nil
}

// startsNode reports whether the quote or bracket at data[i] starts a node
// (a quoted scalar, a flow collection) rather than being a character of a
// plain scalar such as "x:[1" or "a-[": it must follow a line start, a
// comma or an opening bracket, or an indicator that is one: "-" or "?"
// followed by a space, ":" followed by a space, inside a flow collection,
// or right after a quoted key ("a":[1], as JSON writes it). prev and
// beforePrev are the significant bytes before it.
func startsNode(data []byte, i int, prev, beforePrev byte, depth int) bool {
	switch prev {
	case '\n', ',', '[', '{':
		return true
	case '-', '?':
		return data[i-1] == ' '
	case ':':
		return data[i-1] == ' ' || depth > 0 || beforePrev == '"' || beforePrev == '\''
	}
	return false
}

// skipComment returns the offset of the last byte of the comment that
// starts after offset i (the byte before the '#'), before its line feed.
func skipComment(data []byte, i int) int {
	for i+1 < len(data) && data[i+1] != '\n' {
		i++
	}
	return i
}

// valueDepth is the nesting depth of a declaration value: a mapping or a
// sequence is one level more than the deepest value it holds, a scalar
// none; so the top-level mapping of a declaration with a scalar in it has
// depth 1 (spec/SPEC.md §4.1). The indentation and the style of the text
// play no part.
func valueDepth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, valueDepth(e))
		}
	case []any:
		for _, e := range x {
			d = max(d, valueDepth(e))
		}
	default:
		return 0
	}
	return d + 1
}

// deepestPath is the path (keys, and indexes in decimal) of a value at
// the greatest depth in v, the first in key order.
func deepestPath(v any) []string {
	best, key := -1, ""
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if d := valueDepth(x[k]); d > best {
				best, key = d, k
			}
		}
		if best >= 0 {
			return append([]string{key}, deepestPath(x[key])...)
		}
	case []any:
		at := -1
		for i, e := range x {
			if d := valueDepth(e); d > best {
				best, at = d, i
			}
		}
		if at >= 0 {
			return append([]string{strconv.Itoa(at)}, deepestPath(x[at])...)
		}
	}
	return nil
}

// nonZeroMantissa reports whether a number literal has a non-zero digit
// before its exponent: a literal that does, but parses to 0, underflowed.
func nonZeroMantissa(s string) bool {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	return strings.ContainsAny(s, "123456789")
}
