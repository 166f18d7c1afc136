package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
	"github.com/runid/runid-oci/spec"
)

// Kinds of Content.
const (
	// KindText: text or YAML, shown line by line.
	KindText = "text"
	// KindJSON: JSON, pretty-printed, shown line by line.
	KindJSON = "json"
	// KindBinary: bytes shown by size and digest only.
	KindBinary = "binary"
	// KindTooLarge: over Options.MaxContentSize, shown by size and digest.
	KindTooLarge = "too-large"
	// KindOmitted: not shown because the report's content budget was spent.
	KindOmitted = "omitted"
	// KindWithheld: a commitment; the content is not in the identity.
	KindWithheld = "withheld"
	// KindListed: listed on a further page of a large role, without
	// content.
	KindListed = "listed"
	// KindUnreadable: the blob could not be read or does not match its
	// digest (the checks say so too).
	KindUnreadable = "unreadable"
)

// maxCommitmentSize caps a commitment document read for display.
const maxCommitmentSize = 64 << 10

// Content is what a report shows of a component.
type Content struct {
	// Kind says how it is shown.
	Kind string
	// Lines are the lines of text, YAML or pretty-printed JSON.
	Lines []string
	// Redacted describes each credential-like string replaced in Lines
	// (where and what kind, never the string).
	Redacted []string
	// Note explains what is not shown and why.
	Note string
}

// content reads a disclosed component and prepares it for display.
func readContent(ctx context.Context, src oras.ReadOnlyTarget, e spec.ComponentEntry, format string, o Options, budget *int64) Content {
	switch {
	case format == mediatype.FormatBinary || format == "":
		return Content{Kind: KindBinary, Note: "binary content: compare its size and digest"}
	case e.Size > o.MaxContentSize:
		return Content{Kind: KindTooLarge, Note: fmt.Sprintf("%d bytes, over the %d bytes a report shows: fetch it by digest to read it", e.Size, o.MaxContentSize)}
	case e.Size > *budget:
		return Content{Kind: KindOmitted, Note: "not shown: the report already holds as much content as it shows; fetch it by digest to read it"}
	}
	data, err := content.FetchAll(ctx, src, e.Descriptor())
	if err != nil {
		return Content{Kind: KindUnreadable, Note: "could not be read: " + err.Error()}
	}
	*budget -= int64(len(data))
	findings, _ := scan.Reader(bytes.NewReader(data), e.Name, format)
	if format == mediatype.FormatJSON {
		if c, ok := jsonContent(data, findings); ok {
			return c
		}
	}
	return textContent(data, findings)
}

// textContent splits text into lines, replacing each line that holds a
// credential-like string.
func textContent(data []byte, findings []scan.Finding) Content {
	c := Content{Kind: KindText}
	s := string(data)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		c.Note = "not valid UTF-8: invalid bytes are shown as \uFFFD"
	}
	s = strings.TrimSuffix(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	c.Lines = strings.Split(s, "\n")
	for _, f := range findings {
		if f.Line >= 1 && f.Line <= len(c.Lines) {
			c.Lines[f.Line-1] = fmt.Sprintf("[line removed from this report: it looks like a credential (%s)]", f.Kind)
			c.Redacted = append(c.Redacted, f.String())
		}
	}
	return c
}

// jsonContent pretty-prints JSON, replacing each value that holds a
// credential-like string. ok is false when data is not JSON.
func jsonContent(data []byte, findings []scan.Finding) (Content, bool) {
	c := Content{Kind: KindJSON}
	var out bytes.Buffer
	if len(findings) == 0 {
		if err := json.Indent(&out, data, "", "  "); err != nil {
			return Content{}, false
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		v, err := decodeOrdered(dec)
		if err != nil {
			return Content{}, false
		}
		for _, f := range findings {
			note := fmt.Sprintf("[value removed from this report: it looks like a credential (%s)]", f.Kind)
			if replaceIndexPath(v, f.Pointer, note) {
				c.Redacted = append(c.Redacted, f.String())
			}
		}
		v.write(&out, "")
	}
	c.Lines = strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	return c, true
}

// ordered is a JSON value that keeps its members in document order, since
// a finding locates a value by member and element indices (scan.Finding's
// Pointer), never by member name.
type ordered struct {
	object bool
	array  bool
	keys   []string
	items  []*ordered
	scalar any
}

// decodeOrdered reads one JSON value from dec.
func decodeOrdered(dec *json.Decoder) (*ordered, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		v := &ordered{object: t == '{', array: t == '['}
		for dec.More() {
			if v.object {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := k.(string)
				if !ok {
					return nil, fmt.Errorf("member name is not a string")
				}
				v.keys = append(v.keys, key)
			}
			item, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, item)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return v, nil
	default:
		return &ordered{scalar: t}, nil
	}
}

// replaceIndexPath replaces the value at the index path p ("/2/0": the
// first member or element of the third member or element) with a string.
func replaceIndexPath(v *ordered, p string, with string) bool {
	if p == "" {
		*v = ordered{scalar: with}
		return true
	}
	if !strings.HasPrefix(p, "/") {
		return false
	}
	tok, rest := p[1:], ""
	if i := strings.IndexByte(tok, '/'); i >= 0 {
		tok, rest = tok[:i], tok[i:]
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i < 0 || i >= len(v.items) {
		return false
	}
	return replaceIndexPath(v.items[i], rest, with)
}

// write writes v indented by two spaces per level, members in their order.
func (v *ordered) write(out *bytes.Buffer, indent string) {
	marshal := func(x any) {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(x)
		out.Truncate(out.Len() - 1) // Encode's newline
	}
	if !v.object && !v.array {
		marshal(v.scalar)
		return
	}
	open, closing := byte('['), byte(']')
	if v.object {
		open, closing = '{', '}'
	}
	out.WriteByte(open)
	if len(v.items) == 0 {
		out.WriteByte(closing)
		return
	}
	inner := indent + "  "
	for i, item := range v.items {
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString("\n" + inner)
		if v.object {
			marshal(v.keys[i])
			out.WriteString(": ")
		}
		item.write(out, inner)
	}
	out.WriteString("\n" + indent)
	out.WriteByte(closing)
}

// commitment reads a withheld component's commitment document.
func commitment(ctx context.Context, src oras.ReadOnlyTarget, e spec.ComponentEntry, o Options) (*spec.Commitment, Content) {
	c := Content{Kind: KindWithheld}
	if e.Size > maxCommitmentSize {
		c.Note = fmt.Sprintf("commitment document of %d bytes, over the %d bytes a report reads", e.Size, maxCommitmentSize)
		return nil, c
	}
	data, err := content.FetchAll(ctx, src, e.Descriptor())
	if err != nil {
		c.Note = "commitment could not be read: " + err.Error()
		return nil, c
	}
	cm, err := spec.ParseCommitment(data)
	if err != nil {
		c.Note = "commitment is not valid: " + err.Error()
		return nil, c
	}
	return cm, c
}
