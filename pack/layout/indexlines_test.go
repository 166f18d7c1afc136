package layout

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func tagDesc(name, content string) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(content), Size: 10,
		Annotations: map[string]string{ocispec.AnnotationRefName: name, "note": `a "quoted" ` + ocispec.AnnotationRefName + `":"x`}}
}

func TestIndexLines(t *testing.T) {
	seg := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromString("seg"), Size: 99,
		ArtifactType: SegmentArtifactType, Annotations: map[string]string{AnnotationSegmentLevel: "0"}}
	loose := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("loose"), Size: 5}
	idx := &ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		Annotations: map[string]string{"k": "v"},
		Manifests:   []ocispec.Descriptor{tagDesc("b", "1"), seg, tagDesc("a", "2"), loose, tagDesc("b", "3")}}
	l, err := linesOf(idx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.encode()
	if err != nil {
		t.Fatal(err)
	}
	// Plain JSON to any reader: tags sorted, the last entry of a tag kept.
	var got ocispec.Index
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	want := []ocispec.Descriptor{tagDesc("a", "2"), tagDesc("b", "3"), seg, loose}
	if !reflect.DeepEqual(got.Manifests, want) || got.Annotations["k"] != "v" || got.SchemaVersion != 2 {
		t.Errorf("decoded index.json:\n%s", b)
	}
	p, ok := parseLines(b)
	if !ok {
		t.Fatalf("parseLines refused what encode wrote:\n%s", b)
	}
	if len(p.tags) != 2 || p.tags[0].name != "a" || p.tags[1].name != "b" || !reflect.DeepEqual(p.other, []ocispec.Descriptor{seg, loose}) || p.annotations["k"] != "v" {
		t.Errorf("parseLines: tags %v, other %v", p.tags, p.other)
	}
	p.setTag("ab", []byte(`{"x":1}`))
	p.setTag("a", []byte(`{"x":2}`))
	if len(p.tags) != 3 || p.tags[1].name != "ab" || string(p.tags[0].raw) != `{"x":2}` {
		t.Errorf("setTag: %v", p.tags)
	}
	back, err := l.index()
	if err != nil || !reflect.DeepEqual(back.Manifests, want) {
		t.Errorf("index(): %v %v", back, err)
	}

	// Any other form is left to the full decoder.
	compact, _ := json.Marshal(idx)
	s := string(b)
	empty, _ := (&indexLines{}).encode()
	for name, in := range map[string]string{
		"compact":            string(compact),
		"indented header":    strings.Replace(s, `{"schemaVersion":2,`, `{ "schemaVersion":2,`, 1),
		"tag after the rest": strings.Replace(s, "\n]", ",\n"+mustJSON(t, tagDesc("c", "4"))+"\n]", 1),
		"tags out of order":  strings.Replace(s, mustJSON(t, tagDesc("a", "2")), mustJSON(t, tagDesc("z", "2")), 1),
		"two per line":       strings.Replace(s, "},\n{", "},{", 1),
		"cut short":          s[:len(s)/2],
		"bad trailer":        strings.Replace(s, "\n]", "\n],\"x\":1", 1),
	} {
		if _, ok := parseLines([]byte(in)); ok {
			t.Errorf("parseLines took %s:\n%s", name, in)
		}
	}
	if p, ok := parseLines(empty); !ok || len(p.tags)+len(p.other) != 0 {
		t.Errorf("parseLines of an empty index: %v %v", p, ok)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
