package diff

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

func TestDiffValues(t *testing.T) {
	deep := func(depth int, leaf string) string {
		return strings.Repeat(`{"x":`, depth) + leaf + strings.Repeat("}", depth)
	}
	tests := []struct {
		name string
		a, b string
		max  int
		want []string // "path change from -> to"
		more int
	}{
		{name: "equal", a: `{"a":[1,{"b":null}]}`, b: `{"a":[1,{"b":null}]}`},
		{name: "scalar", a: `{"temperature":0.2,"seed":1}`, b: `{"temperature":0.7,"seed":1}`,
			want: []string{"p.temperature changed 0.2 -> 0.7"}},
		{name: "numbers compare by value", a: `{"t":1.0,"u":1e2}`, b: `{"t":1,"u":100}`},
		{name: "added and removed keys in order", a: `{"b":1,"c":{"d":true}}`, b: `{"a":"x","c":{}}`,
			want: []string{`p.a added -> "x"`, "p.b removed 1", "p.c.d removed true"}},
		{name: "keys that are not identifiers", a: `{"a.b":1,"top-p":1,"9":1,"ok_1":1}`, b: `{"a.b":2,"top-p":2,"9":2,"ok_1":2}`,
			want: []string{`p["9"] changed 1 -> 2`, `p["a.b"] changed 1 -> 2`, "p.ok_1 changed 1 -> 2", `p["top-p"] changed 1 -> 2`}},
		{name: "type change", a: `{"a":{"b":1}}`, b: `{"a":[1]}`, want: []string{`p.a changed {"b":1} -> [1]`}},
		{name: "array insertion does not shift", a: `[{"n":"x"},{"n":"y"}]`, b: `[{"n":"w"},{"n":"x"},{"n":"y"}]`,
			want: []string{`p[0] added -> {"n":"w"}`}},
		{name: "array removal", a: `["a","b","c"]`, b: `["a","c"]`, want: []string{`p[1] removed "b"`}},
		{name: "array element changed in depth", a: `[{"role":"user","content":"hi"},{"role":"assistant"}]`, b: `[{"role":"user","content":"hello"},{"role":"assistant"}]`,
			want: []string{`p[0].content changed "hi" -> "hello"`}},
		{name: "array replaced and grown", a: `[1,2]`, b: `[3,4,5]`,
			want: []string{"p[0] changed 1 -> 3", "p[1] changed 2 -> 4", "p[2] added -> 5"}},
		{name: "no HTML escaping", a: `{"s":"<a>"}`, b: `{"s":"<b>&"}`, want: []string{`p.s changed "<a>" -> "<b>&"`}},
		{name: "capped", a: `{"a":1,"b":1,"c":1,"d":1}`, b: `{"a":2,"b":2,"c":2,"d":2}`, max: 2,
			want: []string{"p.a changed 1 -> 2", "p.b changed 1 -> 2"}, more: 2},
		{name: "too deep is one change", a: deep(maxPathDepth+3, "1"), b: deep(maxPathDepth+3, "2"),
			want: []string{"p" + strings.Repeat(".x", maxPathDepth) + " changed " + deep(3, "1") + " -> " + deep(3, "2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			va, err := structuredValue(mediatype.FormatJSON, []byte(tt.a), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			vb, err := structuredValue(mediatype.FormatJSON, []byte(tt.b), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			max := tt.max
			if max == 0 {
				max = DefaultMaxPaths
			}
			paths, more := diffValues("p", va, vb, max)
			var got []string
			for _, p := range paths {
				s := p.Path + " " + p.Change
				if p.From != nil {
					s += " " + string(p.From)
				}
				if p.To != nil {
					s += " -> " + string(p.To)
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") || more != tt.more {
				t.Errorf("paths (+%d more):\n%s\nwant (+%d more):\n%s", more, strings.Join(got, "\n"), tt.more, strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestStructuredValue(t *testing.T) {
	tests := []struct {
		name         string
		format, data string
		same         string // a JSON text it must equal, if set
		err          error  // an error it must wrap, if set
		fails        bool
	}{
		{name: "yaml equals its json", format: "yaml", data: "a: 1\nb: [x, 2.5, true, null]\nc: {d: e}\n",
			same: `{"a":1,"b":["x",2.5,true,null],"c":{"d":"e"}}`},
		{name: "yaml comments and key order do not matter", format: "yaml", data: "# c\nz: 1\na: 2\n", same: `{"a":2,"z":1}`},
		{name: "yaml alias", format: "yaml", data: "a: &x {b: 1}\nc: *x\n", err: errYAMLAliases},
		{name: "yaml tag", format: "yaml", data: "a: !!str 1\n", err: errYAMLAliases},
		{name: "yaml two documents", format: "yaml", data: "a: 1\n---\nb: 2\n", fails: true},
		{name: "invalid yaml", format: "yaml", data: "a: [1\n", fails: true},
		{name: "invalid json", format: "json", data: `{"a":`, err: spec.ErrInvalidJSON},
		{name: "text is not structured", format: "text", data: "a", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := structuredValue(tt.format, []byte(tt.data), 1<<20)
			switch {
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				return
			case tt.fails:
				if err == nil {
					t.Fatalf("no error; value %v", v)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			want, err := structuredValue(mediatype.FormatJSON, []byte(tt.same), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if paths, _ := diffValues("v", want, v, 10); len(paths) != 0 {
				t.Errorf("differs from %s: %+v", tt.same, paths)
			}
		})
	}
}

// TestStructuredValueBudget: a YAML value with more nodes than the budget
// is refused (it is then compared as text).
func TestStructuredValueBudget(t *testing.T) {
	data := []byte("a: [" + strings.Repeat("1, ", 100) + "1]\n")
	if _, err := structuredValue(mediatype.FormatYAML, data, 50); err == nil {
		t.Error("no error over the node budget")
	}
	if _, err := structuredValue(mediatype.FormatYAML, data, 500); err != nil {
		t.Errorf("within the budget: %v", err)
	}
}

func TestAlignComponents(t *testing.T) {
	e := func(name string) spec.ComponentEntry {
		return spec.ComponentEntry{Role: "context", Name: name, Digest: digest.FromString(name)}
	}
	list := func(names string) []spec.ComponentEntry {
		var out []spec.ComponentEntry
		for _, n := range strings.Fields(names) {
			out = append(out, e(n))
		}
		return out
	}
	tests := []struct {
		name, a, b string
		want       string // name:ai:bi, with * for moved
	}{
		{name: "same", a: "p q r", b: "p q r", want: "p:0:0 q:1:1 r:2:2"},
		{name: "inserted first moves nothing", a: "p q", b: "n p q", want: "n:-1:0 p:0:1 q:1:2"},
		{name: "removed", a: "p q r", b: "p r", want: "p:0:0 q:1:-1 r:2:1"},
		{name: "swap moves one", a: "p q r", b: "q p r", want: "q:1:0 p:0:1* r:2:2"},
		{name: "last to front moves one", a: "p q r s", b: "s p q r", want: "s:3:0* p:0:1 q:1:2 r:2:3"},
		{name: "all different", a: "p q", b: "r s", want: "p:0:-1 q:1:-1 r:-1:0 s:-1:1"},
		{name: "empty side", a: "", b: "p", want: "p:-1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, al := range alignComponents(list(tt.a), list(tt.b)) {
				name := ""
				switch {
				case al.b != nil:
					name = al.b.Name
				case al.a != nil:
					name = al.a.Name
				}
				if al.a != nil && al.b != nil && al.a.Name != al.b.Name {
					t.Errorf("paired %s with %s", al.a.Name, al.b.Name)
				}
				s := fmt.Sprintf("%s:%d:%d", name, al.ai, al.bi)
				if al.moved {
					s += "*"
				}
				got = append(got, s)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("aligned %s, want %s", strings.Join(got, " "), tt.want)
			}
		})
	}
}

func TestPairKind(t *testing.T) {
	entry := func(role, format string) *spec.ComponentEntry {
		mt := mediatype.Withheld
		if format != "withheld" {
			mt = mediatype.Component(role, format)
		}
		return &spec.ComponentEntry{Role: role, MediaType: mt}
	}
	tests := []struct {
		name string
		a, b *spec.ComponentEntry
		want string
	}{
		{"json", entry("tools", "json"), entry("tools", "json"), KindStructured},
		{"yaml and json", entry("config", "yaml"), entry("config", "json"), KindStructured},
		{"text", entry("context", "text"), entry("context", "text"), KindText},
		{"text and json", entry("input", "text"), entry("input", "json"), KindText},
		{"binary", entry("context", "binary"), entry("context", "binary"), KindBinary},
		{"text and binary", entry("context", "text"), entry("context", "binary"), KindBinary},
		{"withheld and text", entry("context", "withheld"), entry("context", "text"), KindWithheld},
		{"added yaml", nil, entry("config", "yaml"), KindStructured},
		{"removed binary", entry("context", "binary"), nil, KindBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pairKind(tt.a, tt.b); got != tt.want {
				t.Errorf("pairKind = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLabel(t *testing.T) {
	tool := map[string]any{"type": "function", "function": map[string]any{"name": "search"}}
	plainTool := map[string]any{"name": "lookup"}
	entry := &spec.ComponentEntry{Name: "tools/search.json"}
	tests := []struct {
		name   string
		role   string
		single bool
		a, b   any
		want   string
	}{
		{name: "single component", role: "parameters", single: true, want: "parameters"},
		{name: "one of several", role: "context", want: "context[tools/search.json]"},
		{name: "function name", role: "tools", a: tool, b: tool, want: "tools[search]"},
		{name: "single tool keeps its name", role: "tools", single: true, a: tool, b: tool, want: "tools[search]"},
		{name: "name", role: "tools", a: plainTool, b: plainTool, want: "tools[lookup]"},
		{name: "only B names it", role: "tools", a: "x", b: tool, want: "tools[search]"},
		{name: "no name", role: "tools", a: []any{}, b: map[string]any{"function": map[string]any{}}, want: "tools[tools/search.json]"},
	}
	c := newComparer(CompareOptions{}.withDefaults())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp := rolePlan{role: tt.role, single: tt.single}
			p := pairPlan{alignedComponent: alignedComponent{a: entry, b: entry}}
			if got := c.label(rp, p, tt.a, tt.b); got != tt.want {
				t.Errorf("label = %q, want %q", got, tt.want)
			}
		})
	}
}
