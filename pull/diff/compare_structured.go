package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull/diff/internal/textdiff"
	"github.com/runid/runid-oci/spec"
)

// maxPathDepth bounds the nesting that paths descend into; a deeper
// difference is reported as a change of the whole value at that depth.
const maxPathDepth = 64

// errYAMLAliases: YAML with anchors or aliases is compared as text, since
// expanding aliases can multiply a small document's size.
var errYAMLAliases = errors.New("YAML anchors, aliases or tags")

// structuredValue decodes a json or yaml component into the JSON data
// model: map[string]any, []any, string, bool, nil and json.Number in RFC
// 8785 form, so that equal values compare equal whatever their spelling
// (and a json component compares with a yaml one).
func structuredValue(format string, data []byte, maxNodes int64) (any, error) {
	switch format {
	case mediatype.FormatJSON:
		return canonicalValue(data)
	case mediatype.FormatYAML:
		f, err := parser.ParseBytes(data, 0)
		if err != nil {
			return nil, fmt.Errorf("not valid YAML: %w", err)
		}
		if len(f.Docs) > 1 {
			return nil, errors.New("more than one YAML document")
		}
		var found bool
		for _, doc := range f.Docs {
			ast.Walk(aliasFinder{&found}, doc)
		}
		if found {
			return nil, errYAMLAliases
		}
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("not valid YAML: %w", err)
		}
		budget := maxNodes
		n, err := jsonModel(v, &budget)
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(n)
		if err != nil {
			return nil, fmt.Errorf("YAML value without a JSON form: %w", err)
		}
		return canonicalValue(raw)
	}
	return nil, fmt.Errorf("format %q is not structured", format)
}

// aliasFinder sets *found on any anchor, alias or tag node.
type aliasFinder struct{ found *bool }

func (a aliasFinder) Visit(n ast.Node) ast.Visitor {
	switch n.(type) {
	case *ast.AnchorNode, *ast.AliasNode, *ast.TagNode:
		*a.found = true
		return nil
	}
	return a
}

// canonicalValue canonicalizes JSON text (RFC 8785) and decodes it with
// numbers kept as their canonical text.
func canonicalValue(data []byte) (any, error) {
	canon, err := spec.Canonicalize(data)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(canon))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsonModel converts a decoded YAML value to one encoding/json can encode
// (string map keys), spending one unit of *budget per node.
func jsonModel(v any, budget *int64) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errors.New("YAML value too large to compare by path")
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			c, err := jsonModel(x, budget)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			c, err := jsonModel(x, budget)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			c, err := jsonModel(x, budget)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return v, nil
}

// diffValues lists the differences between a and b by path, starting at
// root, at most max of them; it returns how many more there are.
func diffValues(root string, a, b any, max int) ([]PathChange, int) {
	d := &pathDiff{max: max}
	d.walk(root, a, b, 0)
	return d.out, d.omitted
}

type pathDiff struct {
	out     []PathChange
	max     int
	omitted int
}

func (d *pathDiff) add(path, change string, from, to any, hasFrom, hasTo bool) {
	if len(d.out) >= d.max {
		d.omitted++
		return
	}
	pc := PathChange{Path: path, Change: change}
	if hasFrom {
		pc.From = marshalValue(from)
	}
	if hasTo {
		pc.To = marshalValue(to)
	}
	d.out = append(d.out, pc)
}

func (d *pathDiff) walk(path string, a, b any, depth int) {
	if depth < maxPathDepth {
		switch av := a.(type) {
		case map[string]any:
			if bv, ok := b.(map[string]any); ok {
				d.walkObject(path, av, bv, depth)
				return
			}
		case []any:
			if bv, ok := b.([]any); ok {
				d.walkArray(path, av, bv, depth)
				return
			}
		}
	}
	if !equalValues(a, b) {
		d.add(path, ChangeChanged, a, b, true, true)
	}
}

func (d *pathDiff) walkObject(path string, a, b map[string]any, depth int) {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		va, inA := a[k]
		vb, inB := b[k]
		p := path + keySegment(k)
		switch {
		case !inB:
			d.add(p, ChangeRemoved, va, nil, true, false)
		case !inA:
			d.add(p, ChangeAdded, nil, vb, false, true)
		default:
			d.walk(p, va, vb, depth+1)
		}
	}
}

// walkArray aligns two arrays on their equal elements (a line diff of
// their canonical forms) so that an insertion does not make every later
// element "changed"; unaligned elements facing each other are compared in
// depth.
func (d *pathDiff) walkArray(path string, a, b []any, depth int) {
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i, v := range a {
		ka[i] = string(marshalValue(v))
	}
	for i, v := range b {
		kb[i] = string(marshalValue(v))
	}
	es := textdiff.Diff(ka, kb)
	idx := func(i int) string { return path + "[" + strconv.Itoa(i) + "]" }
	for i := 0; i < len(es); i++ {
		e := es[i]
		switch e.Op {
		case textdiff.Delete:
			ins := textdiff.Edit{A0: e.A1, A1: e.A1, B0: e.B1, B1: e.B1}
			if i+1 < len(es) && es[i+1].Op == textdiff.Insert {
				ins = es[i+1]
				i++
			}
			nd, ni := e.A1-e.A0, ins.B1-ins.B0
			for k := range min(nd, ni) {
				d.walk(idx(ins.B0+k), a[e.A0+k], b[ins.B0+k], depth+1)
			}
			for k := ni; k < nd; k++ {
				d.add(idx(e.A0+k), ChangeRemoved, a[e.A0+k], nil, true, false)
			}
			for k := nd; k < ni; k++ {
				d.add(idx(ins.B0+k), ChangeAdded, nil, b[ins.B0+k], false, true)
			}
		case textdiff.Insert:
			for j := e.B0; j < e.B1; j++ {
				d.add(idx(j), ChangeAdded, nil, b[j], false, true)
			}
		}
	}
}

func equalValues(a, b any) bool {
	switch av := a.(type) {
	case nil, bool, string, json.Number:
		return a == b
	case map[string]any, []any:
		return reflect.DeepEqual(av, b)
	}
	return reflect.DeepEqual(a, b)
}

// keySegment renders an object key: ".key" for an identifier, else
// `["key"]`.
func keySegment(k string) string {
	if isIdentifier(k) {
		return "." + k
	}
	return "[" + string(marshalValue(k)) + "]"
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}

// marshalValue encodes a value of the JSON data model as compact JSON with
// sorted keys and no HTML escaping.
func marshalValue(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Values come from a JSON decoder: this cannot happen.
		return json.RawMessage(strconv.Quote(fmt.Sprint(v)))
	}
	return json.RawMessage(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
