package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// parseBoth parses data with the item lines parsed apart (from the first
// one) and with the whole text parsed at once, and fails the test if the
// results differ in any way.
func parseBoth(t *testing.T, name string, data []byte) (fast bool) {
	t.Helper()
	defer func(n int) { flowItemsMin = n }(flowItemsMin)
	flowItemsMin = 1
	_, _, fast = parseFlowItems(data)
	d1, err1 := ParseDeclaration(name, data)
	flowItemsMin = 1 << 30
	d2, err2 := ParseDeclaration(name, data)
	if fmt.Sprint(err1) != fmt.Sprint(err2) || !reflect.DeepEqual(d1, d2) {
		t.Errorf("%s: items apart: %v %+v\nwhole text: %v %+v", name, err1, d1, err2, d2)
	}
	return fast
}

func TestFlowItemsAgree(t *testing.T) {
	var files []string
	for _, dir := range []string{"../testdata/declarations", "../testdata/examples", "vectors"} {
		_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && (dir == "../testdata/declarations" || e.Name() == "runid.yaml") {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) < 20 {
		t.Fatalf("found only %d declarations", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parseBoth(t, f, data)
	}

	head := "runid: \"1\"\nroles:\n  model: { provider: p, name: n }\n  parameters: { temperature: 0 }\n  system-prompt: none\n  tools: none\n  input: none\n  config: none\n  runtime: { harness: { name: h } }\n  context:\n"
	items := func(n int, f func(i int) string) string {
		var b strings.Builder
		b.WriteString(head)
		for i := range n {
			b.WriteString(f(i))
		}
		return b.String()
	}
	plain := func(i int) string { return fmt.Sprintf("    - { name: context/d%d.txt, file: d/%d.txt }\n", i, i) }
	cases := map[string]struct {
		text string
		fast bool // parsed apart
	}{
		"plain": {items(600, plain), true},
		"formats and spacing": {items(600, func(i int) string {
			return fmt.Sprintf("    -   {name: context/d%d.md,file: d/%d.md , format: text, withheld: %v}   \n", i, i, i%2 == 0)
		}), true},
		"quoted and commented lines between": {items(600, func(i int) string {
			switch i % 7 {
			case 1:
				return fmt.Sprintf("    - { name: \"context/q%d.txt\", file: d/%d.txt }\n", i, i)
			case 2:
				return fmt.Sprintf("    # comment\n\n    - { name: context/c%d.txt, file: d/%d.txt } # note\n", i, i)
			case 3:
				return fmt.Sprintf("    - name: context/b%d.txt\n      text: |\n        - x\n", i)
			}
			return plain(i)
		}), true},
		"item lines in block scalars": {items(600, func(i int) string {
			if i%7 == 3 {
				return fmt.Sprintf("    - name: context/b%d.txt\n      text: |\n        - { name: x, file: y }\n        - {a: b}\n", i)
			}
			return plain(i)
		}), false},
		"inside a block scalar": {head + "    - name: context/x.txt\n      text: |\n" + items(600, func(i int) string { return "        " + plain(i) })[len(head):], false},
		"duplicate key":         {items(600, func(i int) string { return strings.Replace(plain(i), "}", ", name: context/z.txt }", 1) }), false},
		"bad name":              {items(600, func(i int) string { return strings.Replace(plain(i), "context/d5.txt", "../d5.txt", 1) }), true},
		"duplicate name":        {items(600, func(i int) string { return strings.Replace(plain(i), "d7.txt,", "d6.txt,", 1) }), true},
		"unknown field":         {items(600, func(i int) string { return strings.Replace(plain(i), "file: d/9.txt", "file: d/9.txt, x: 1", 1) }), true},
		"mixed indentation": {items(600, func(i int) string {
			if i == 300 {
				return "      - { name: context/odd.txt, file: o.txt }\n"
			}
			return plain(i)
		}), false},
		"crlf":          {strings.ReplaceAll(items(600, plain), "\n", "\r\n"), false},
		"flow in flow":  {items(600, func(i int) string { return fmt.Sprintf("    - { name: context/d%d.json, inline: {a: %d} }\n", i, i) }), false},
		"scalars":       {items(600, func(i int) string { return fmt.Sprintf("    - { name: context/d%d.json, inline: 0x1%d }\n", i, i) }), true},
		"two documents": {items(600, plain) + "---\nx: 1\n", false},
		"other role":    {strings.Replace(items(600, plain), "  tools: none\n", "  tools:\n"+items(300, func(i int) string { return fmt.Sprintf("    - { name: tools/t%d.json, file: t/%d.json }\n", i, i) })[len(head):], 1), true},
	}
	for name, c := range cases {
		if fast := parseBoth(t, name, []byte(c.text)); fast != c.fast {
			t.Errorf("%s: parsed apart %v, want %v", name, fast, c.fast)
		}
	}
}
