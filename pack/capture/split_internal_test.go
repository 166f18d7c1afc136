package capture

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runid/runid-oci/spec"
)

// TestSplit checks splitArray and splitObject against encoding/json on
// every array and object inside the canonical forms of the realistic
// requests and of random values with hard strings (escaped quotes and
// backslashes, control characters, names out of UTF-8 order), and that
// they refuse texts that are not canonical.
func TestSplit(t *testing.T) {
	var texts [][]byte
	files, _ := filepath.Glob("../../testdata/requests/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, b)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	pieces := []string{`a`, `\"`, `\\`, `\\\"`, "\n", "\x01", `"`, `,`, `]`, `}`, `[`, `{`, `:`, `é`, "\U0001F600", "\uff61", ` `}
	str := func() string {
		var b strings.Builder
		for range rnd.IntN(5) {
			b.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		return b.String()
	}
	var value func(depth int) any
	value = func(depth int) any {
		switch k := rnd.IntN(7); {
		case k < 2 && depth < 4:
			m := map[string]any{}
			for range rnd.IntN(5) {
				m[str()] = value(depth + 1)
			}
			return m
		case k < 4 && depth < 4:
			var a []any
			for range rnd.IntN(5) {
				a = append(a, value(depth+1))
			}
			return a
		case k == 4:
			return []any{1.5, -0.0, 1e21, 256, true, nil}[rnd.IntN(6)]
		default:
			return str()
		}
	}
	for range 3000 {
		b, err := json.Marshal(value(0))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, b)
	}
	checked := 0
	var walk func(v json.RawMessage)
	walk = func(v json.RawMessage) {
		var arr []json.RawMessage
		var obj map[string]json.RawMessage
		switch {
		case json.Unmarshal(v, &arr) == nil && v[0] == '[':
			got, ok := splitArray(v)
			if !ok || !reflect.DeepEqual(got, arr) {
				t.Fatalf("splitArray(%s) = %q, %v; encoding/json: %q", v, got, ok, arr)
			}
			for _, e := range arr {
				walk(e)
			}
		case json.Unmarshal(v, &obj) == nil && v[0] == '{':
			got, ok := splitObject(v)
			if !ok || !reflect.DeepEqual(map[string]json.RawMessage(got), obj) {
				t.Fatalf("splitObject(%s) = %q, %v; encoding/json: %q", v, got, ok, obj)
			}
			for _, e := range obj {
				walk(e)
			}
		default:
			return
		}
		checked++
	}
	for _, text := range texts {
		canon, err := spec.Canonicalize(text)
		if err != nil {
			t.Fatal(err)
		}
		walk(canon)
		// Not canonical (unless it was already): refused.
		if !spec.IsCanonical(text) {
			if _, ok := splitArray(text); ok {
				t.Fatalf("splitArray accepts %s", text)
			}
			if _, ok := splitObject(text); ok {
				t.Fatalf("splitObject accepts %s", text)
			}
		}
	}
	if checked < 3000 {
		t.Fatalf("only %d arrays and objects", checked)
	}
	for _, bad := range []string{``, `[`, `{`, `[1,]`, `{"a":1,"a":2}`, `{"b":1,"a":2}`, `[1, 2]`, `"[]"`, `[]x`, `{"a":tru}`} {
		if _, ok := splitArray([]byte(bad)); ok {
			t.Errorf("splitArray accepts %q", bad)
		}
		if _, ok := splitObject([]byte(bad)); ok {
			t.Errorf("splitObject accepts %q", bad)
		}
	}
}
