package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

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

var (
	reNull   = regexp.MustCompile(`^(null|Null|NULL|~|)$`)
	reBool   = regexp.MustCompile(`^(true|True|TRUE|false|False|FALSE)$`)
	reInt    = regexp.MustCompile(`^[-+]?[0-9]+$`)
	reOct    = regexp.MustCompile(`^0o[0-7]+$`)
	reHex    = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)
	reFloat  = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
	reInfNaN = regexp.MustCompile(`^([-+]?\.(inf|Inf|INF)|\.nan|\.NaN|\.NAN)$`)
)

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
	switch {
	case reNull.MatchString(s):
		return nil, nil
	case reBool.MatchString(s):
		return strings.EqualFold(s, "true"), nil
	case reInt.MatchString(s):
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
	case reOct.MatchString(s), reHex.MatchString(s):
		base, digits := 8, s[2:]
		if s[1] == 'x' {
			base = 16
		}
		u, err := strconv.ParseUint(digits, base, 64)
		if err != nil {
			return nil, fail(ErrInvalidJSON, "integer %s is out of range", s)
		}
		return json.Number(strconv.FormatUint(u, 10)), nil
	case reFloat.MatchString(s):
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fail(ErrInvalidJSON, "number %s is out of range for JSON", s)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case reInfNaN.MatchString(s):
		return nil, fail(ErrInvalidJSON, "%s is not a JSON number (JSON has no infinity or NaN); quote it if it is text", s)
	}
	return s, nil
}

// checkDepth rejects input nested deeper than MaxDeclarationDepth, counting
// flow brackets, block sequence dashes and indentation, before any parser
// sees it. Quoted scalars and comments are skipped exactly where YAML
// starts them, so nesting cannot be hidden from the count; anything else
// can only make the count larger than the real depth.
func checkDepth(data []byte) (line int, ok bool) {
	depth, quote := 0, byte(0)
	line = 1
	atLineStart, indent, dashes := true, 0, 0
	prev := byte('\n') // previous significant byte outside quotes
	for i := 0; i < len(data); i++ {
		c := data[i]
		if quote != 0 {
			switch {
			case c == '\\' && quote == '"':
				i++
			case c == '\'' && quote == '\'' && i+1 < len(data) && data[i+1] == '\'':
				i++
			case c == quote:
				quote, prev = 0, c
			case c == '\n':
				line++
			}
			continue
		}
		if c == '\n' {
			line++
			atLineStart, indent, dashes, prev = true, 0, 0, '\n'
			continue
		}
		if c == ' ' || c == '\t' {
			if atLineStart {
				indent++
				if indent > 2*MaxDeclarationDepth {
					return line, false
				}
			}
			if i+1 < len(data) && data[i+1] == '#' {
				for i+1 < len(data) && data[i+1] != '\n' {
					i++
				}
			}
			continue
		}
		if atLineStart && c == '-' && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n') {
			dashes++
			if dashes+indent/2 > MaxDeclarationDepth {
				return line, false
			}
			prev = '-'
			continue
		}
		wasLineStart := atLineStart
		atLineStart = false
		switch c {
		case '#':
			if wasLineStart || prev == '\n' {
				for i+1 < len(data) && data[i+1] != '\n' {
					i++
				}
				continue
			}
		case '"', '\'':
			if strings.IndexByte("\n:,[{-?", prev) >= 0 {
				quote = c
				continue
			}
		case '[', '{':
			depth++
			if depth > MaxDeclarationDepth {
				return line, false
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
		prev = c
	}
	return line, true
}
