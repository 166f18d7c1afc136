package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The store writes index.json with one descriptor per line, tags first,
// sorted by name:
//
//	{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
//	{...tag a...},
//	{...tag b...},
//	{...segment or untagged manifest...}
//	],"annotations":{...}}
//
// It is plain JSON to every reader. To its writer it is a list of lines:
// a commit that sets a tag in an index.json this store wrote last copies
// the other tags' lines as bytes, without decoding them, and decodes only
// the few hundred segment and untagged lines. A tagged push then costs a
// copy of index.json, not a parse and an encoding of every tag.

// indexHeader opens an index.json in lines.
const indexHeader = `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageIndex + `","manifests":[` + "\n"

// refNameKey is how a tag's name starts in its line.
var refNameKey = []byte(`"` + ocispec.AnnotationRefName + `":"`)

// tagLine is one tag's line of index.json: its name and its descriptor's
// JSON.
type tagLine struct {
	name string
	raw  []byte
}

// indexLines is index.json as its writer handles it.
type indexLines struct {
	annotations map[string]string
	tags        []tagLine            // sorted by name, one per name
	other       []ocispec.Descriptor // segments and untagged manifests, in order
}

// linesOf splits a decoded index.json into tags and the rest. A tag
// listed twice keeps its last entry, as oras-go's store does.
func linesOf(idx *ocispec.Index) (*indexLines, error) {
	l := &indexLines{annotations: idx.Annotations}
	byName := map[string][]byte{}
	for _, e := range idx.Manifests {
		ref := e.Annotations[ocispec.AnnotationRefName]
		if ref == "" {
			l.other = append(l.other, e)
			continue
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		byName[ref] = b
	}
	l.tags = make([]tagLine, 0, len(byName))
	for name, b := range byName {
		l.tags = append(l.tags, tagLine{name: name, raw: b})
	}
	sort.Slice(l.tags, func(i, j int) bool { return l.tags[i].name < l.tags[j].name })
	return l, nil
}

// parseLines reads an index.json the store wrote in lines, decoding only
// the lines that are not tags. It returns false for any other form (the
// caller decodes it whole).
func parseLines(b []byte) (*indexLines, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(indexHeader))
	if !ok {
		return nil, false
	}
	end := bytes.LastIndex(rest, []byte("\n]"))
	if end < 0 {
		return nil, false
	}
	body, trailer := rest[:end], bytes.TrimRight(rest[end+2:], "\n")
	l := &indexLines{}
	switch {
	case bytes.Equal(trailer, []byte("}")):
	case bytes.HasPrefix(trailer, []byte(`,"annotations":`)):
		var a struct {
			Annotations map[string]string `json:"annotations"`
		}
		if json.Unmarshal(append([]byte("{"), trailer[1:]...), &a) != nil {
			return nil, false
		}
		l.annotations = a.Annotations
	default:
		return nil, false
	}
	if len(body) == 0 {
		return l, true
	}
	var last []byte
	for len(body) > 0 {
		line, next, _ := bytes.Cut(body, []byte("\n"))
		body = next
		line = bytes.TrimSuffix(line, []byte(","))
		if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
			return nil, false
		}
		if i := bytes.Index(line, refNameKey); i >= 0 {
			name, _, ok := bytes.Cut(line[i+len(refNameKey):], []byte(`"`))
			// The name is the JSON string's bytes when nothing in it is
			// escaped (no tag needs it); the tags come sorted, once each
			// and one a line, before the rest.
			if !ok || len(name) == 0 || bytes.IndexByte(name, '\\') >= 0 || bytes.Compare(name, last) <= 0 ||
				len(l.other) > 0 || bytes.Contains(line[i+len(refNameKey):], refNameKey) {
				return nil, false
			}
			last = name
			l.tags = append(l.tags, tagLine{name: string(name), raw: line})
			continue
		}
		var d ocispec.Descriptor
		if json.Unmarshal(line, &d) != nil {
			return nil, false
		}
		l.other = append(l.other, d)
	}
	return l, true
}

// setTag sets the line of tag name.
func (l *indexLines) setTag(name string, raw []byte) {
	i := sort.Search(len(l.tags), func(i int) bool { return l.tags[i].name >= name })
	if i < len(l.tags) && l.tags[i].name == name {
		l.tags[i].raw = raw
		return
	}
	l.tags = append(l.tags, tagLine{})
	copy(l.tags[i+1:], l.tags[i:])
	l.tags[i] = tagLine{name: name, raw: raw}
}

// encode writes index.json in lines.
func (l *indexLines) encode() ([]byte, error) {
	size := len(indexHeader) + 64
	for _, t := range l.tags {
		size += len(t.raw) + 2
	}
	var buf bytes.Buffer
	buf.Grow(size + 256*len(l.other))
	buf.WriteString(indexHeader)
	n := 0
	sep := func() {
		if n > 0 {
			buf.WriteString(",\n")
		}
		n++
	}
	for _, t := range l.tags {
		sep()
		buf.Write(t.raw)
	}
	for _, d := range l.other {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		sep()
		buf.Write(b)
	}
	buf.WriteString("\n]")
	if len(l.annotations) > 0 {
		b, err := json.Marshal(l.annotations)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&buf, `,"annotations":%s`, b)
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}

// index decodes the lines back into an image index.
func (l *indexLines) index() (*ocispec.Index, error) {
	out := &ocispec.Index{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageIndex,
		Annotations: l.annotations,
		Manifests:   make([]ocispec.Descriptor, 0, len(l.tags)+len(l.other)),
	}
	for _, t := range l.tags {
		var d ocispec.Descriptor
		if err := json.Unmarshal(t.raw, &d); err != nil {
			return nil, err
		}
		out.Manifests = append(out.Manifests, d)
	}
	out.Manifests = append(out.Manifests, l.other...)
	return out, nil
}
