package spec

import (
	"bytes"
	"errors"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Parsing long lists of one-line components.
//
// goccy/go-yaml keeps a token (with its position and two strings) per
// scalar and indicator and a node per value: about 40 bytes of memory per
// byte of text, 35 MB at its peak for a declaration of 10,000 components
// of one line each (640 KB), most of a push's memory. Such declarations
// are almost all lines like
//
//	    - { name: context/doc-00001.txt, file: docs/doc-00001.txt }
//
// and a flow mapping that opens and closes on its line, with no quote,
// bracket, comment, anchor or alias in it, means the same wherever it
// stands: nothing in it can reach another line. So when a declaration has
// at least flowItemsMin such lines, ParseDeclaration parses a skeleton of
// it, the same text with each of those mappings emptied to {} (every line
// and column of the rest unchanged), checks that each emptied mapping is
// an item of a block sequence at exactly its line and column, and parses
// the lines themselves apart, a chunk of consecutive lines at a time,
// converting each chunk before parsing the next. Anything unexpected
// (a parse or conversion error, an emptied mapping found elsewhere or not
// at all, a chunk that is not the items it should be) falls back to
// parsing the whole text, so that every error is the one it would be
// anyway; TestFlowItemsAgree compares the two on every declaration of the
// test data and on generated ones.

// flowItemsMin is the number of one-line flow-mapping items from which
// ParseDeclaration parses them apart from the rest.
var flowItemsMin = 256

// flowItemsChunk is how many consecutive item lines are parsed at once.
const flowItemsChunk = 256

// flowItem is one line "<indent>- {...}" of the text.
type flowItem struct {
	line       int // 1-based
	indent     int // spaces before the '-'
	start, end int // offsets of the line in the text, without its newline
	open       int // offset of the '{'
	close      int // offset of the '}'
}

// notInFlowItem are the bytes that rule a line out: what can continue a
// value onto another line (quotes, brackets, braces, a backslash), start a
// comment, refer to another line (anchors, aliases), or that YAML treats
// specially (tags, block scalar and directive indicators, tabs, CR).
const notInFlowItem = "\"'{}[]#&*!|>%@`\\\t\r"

// findFlowItems returns the lines of data that are a block sequence entry
// holding a one-line flow mapping free of notInFlowItem.
func findFlowItems(data []byte) []flowItem {
	var out []flowItem
	line := 0
	for start := 0; start < len(data); {
		line++
		end := bytes.IndexByte(data[start:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += start
		}
		if it, ok := flowItemAt(data, start, end); ok {
			it.line = line
			out = append(out, it)
		}
		start = end + 1
	}
	return out
}

func flowItemAt(data []byte, start, end int) (flowItem, bool) {
	i := start
	for i < end && data[i] == ' ' {
		i++
	}
	indent := i - start
	if end-i < 4 || data[i] != '-' || data[i+1] != ' ' {
		return flowItem{}, false
	}
	i += 2
	for i < end && data[i] == ' ' {
		i++
	}
	j := end
	for j > i && data[j-1] == ' ' {
		j--
	}
	if j-i < 2 || data[i] != '{' || data[j-1] != '}' {
		return flowItem{}, false
	}
	if bytes.ContainsAny(data[i+1:j-1], notInFlowItem) {
		return flowItem{}, false
	}
	return flowItem{indent: indent, start: start, end: end, open: i, close: j - 1}, true
}

// errFlowItems makes parseFlowItems give up: the whole text is parsed.
var errFlowItems = errors.New("flow items: parse the whole text")

// parseFlowItems is the value of data parsed as described above, with its
// locator, or ok false when data has too few item lines or anything did
// not go as expected.
func parseFlowItems(data []byte) (root any, loc *locator, ok bool) {
	items := findFlowItems(data)
	if len(items) < flowItemsMin {
		return nil, nil, false
	}
	skel := make([]byte, 0, len(data))
	prev := 0
	for _, it := range items {
		skel = append(skel, data[prev:it.open+1]...)
		prev = it.close
	}
	skel = append(skel, data[prev:]...)
	file, err := parser.ParseBytes(skel, 0)
	skel = nil
	if err != nil || len(file.Docs) != 1 {
		return nil, nil, false
	}
	c := &flowItemConverter{data: data, items: items, byLine: make(map[int]int, len(items))}
	for k, it := range items {
		c.byLine[it.line] = k
	}
	root, err = c.value(file.Docs[0].Body, nil)
	if err != nil || c.used != len(items) || root == nil {
		return nil, nil, false
	}
	return root, newLocator(file, data, root), true
}

// flowItemConverter is toValue with the emptied item mappings of a
// skeleton replaced by the values of their lines.
type flowItemConverter struct {
	data   []byte
	items  []flowItem
	byLine map[int]int // line → index in items
	values []any       // of the chunk that starts at items[first]
	first  int
	used   int // items replaced, in order
}

func (c *flowItemConverter) value(n ast.Node, path []string) (any, error) {
	return toValueWith(n, path, c.item)
}

// item returns the value of the item line of n, if n is the emptied
// mapping of one; an emptied mapping anywhere else, or out of order, is
// errFlowItems.
func (c *flowItemConverter) item(n ast.Node, inBlockSequence bool) (any, bool, error) {
	m, ok := n.(*ast.MappingNode)
	if !ok || !m.IsFlowStyle || len(m.Values) != 0 || m.Start == nil || m.Start.Position == nil {
		return nil, false, nil
	}
	k, ok := c.byLine[m.Start.Position.Line]
	if !ok {
		return nil, false, nil
	}
	it := c.items[k]
	if !inBlockSequence || k != c.used || m.Start.Position.Column != it.open-it.start+1 {
		return nil, false, errFlowItems
	}
	if k >= c.first+len(c.values) {
		if err := c.parseChunk(k); err != nil {
			return nil, false, err
		}
	}
	c.used++
	return c.values[k-c.first], true, nil
}

// parseChunk parses the lines of up to flowItemsChunk consecutive items
// from items[k] on, as a text of their own.
func (c *flowItemConverter) parseChunk(k int) error {
	n := 1
	for k+n < len(c.items) && n < flowItemsChunk && c.items[k+n].line == c.items[k+n-1].line+1 && c.items[k+n].indent == c.items[k].indent {
		n++
	}
	chunk := c.items[k : k+n]
	file, err := parser.ParseBytes(c.data[chunk[0].start:chunk[n-1].end], 0)
	if err != nil || len(file.Docs) != 1 {
		return errFlowItems
	}
	seq, ok := file.Docs[0].Body.(*ast.SequenceNode)
	if !ok || seq.IsFlowStyle || len(seq.Values) != n {
		return errFlowItems
	}
	values := make([]any, n)
	for i, v := range seq.Values {
		m, ok := v.(*ast.MappingNode)
		it := chunk[i]
		if !ok || !m.IsFlowStyle || m.Start == nil || m.Start.Position == nil ||
			m.Start.Position.Line != it.line-chunk[0].line+1 || m.Start.Position.Column != it.open-it.start+1 {
			return errFlowItems
		}
		if values[i], err = toValue(m, nil); err != nil {
			return errFlowItems
		}
	}
	c.values, c.first = values, k
	return nil
}
