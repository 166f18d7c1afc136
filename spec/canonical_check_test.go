package spec

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// canonicalCases are JSON texts at the edges of RFC 8785: each is checked
// as written and in its canonical form.
var canonicalCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1`, `-1`, `true`, `false`, `null`,
	`{"a":1}`, `{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":1,"b":{"a":[1,2,{"c":null}]}}`,
	`[1,2,3]`, `[ 1,2]`, `{"a" :1}`, ` {}`, `{} `, `{}x`, `[1]]`, `{"a":1}}`, `{"a":1,}`, `[1,]`, `[,1]`,
	`1.5`, `1.50`, `0.2`, `100e-2`, `1e21`, `1e+21`, `1E+21`, `1e-7`, `1e-07`, `0.000001`, `1e-6`,
	`123456789012345`, `1234567890123456`, `12345678901234567`, `9007199254740993`, `9007199254740992`,
	`-123456789012345`, `007`, `0.10`, `1.`, `.5`, `-`, `+1`, `1e400`, `-1e400`, `1e-400`, `5e-324`,
	`1.7976931348623157e+308`, `0.1e1`, `1e0`, `-0.0`, `[-0]`, `[1e-7,2]`, `{"a":1e+21}`,
	`"a\"b"`, `"a\\b"`, `"\/"`, `"/"`, `"\b\f\n\r\t"`, `"\u0008"`, `"\u000a"`, `"\u0000"`, `"\u001f"`,
	`"\u001F"`, `"\u0020"`, `"\u00e9"`, `"é"`, `"\u2028"`, "\"\u2028\"", "\"\x7f\"", "\"\x01\"",
	`"\ud83d\ude00"`, `"😀"`, `"\ud800"`, `"<>&"`, `"\u003c"`,
	`{"😀":1,"｡":2}`, `{"｡":2,"😀":1}`, `{"\u0001":1,"a":2}`, "{\"\\u0001\":1,\"a\":2}", `{"a":2,"\u0001":1}`,
	`{"\"":1,"\\":2}`, `{"\\":2,"\"":1}`, `{"\n":1,"\t":2}`, `{"\t":2,"\n":1}`, `{"a\u0000":1,"a":2}`, `{"a":2,"a\u0000":1}`,
	`{"é":1,"z":2}`, `{"z":2,"é":1}`, `{"":1,"a":2}`, `{"a":2,"":1}`, `{"":1,"":2}`,
	`tru`, `nul`, `falsey`, `[true,false,null]`, `[truex]`, `{"a":tru}`, `"abc`, `"`, `{"a`, `[`, `{`, `{"a":`, `{"a"`,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
}

// TestIsCanonical checks the fast path of Canonicalize against the
// transform: whatever isCanonical accepts, jcs returns unchanged, and
// Canonicalize gives what the transform gives (or fails as it does).
func TestIsCanonical(t *testing.T) {
	inputs := append([][]byte(nil), stringsToBytes(canonicalCases)...)
	// Every JSON file of the repository: vectors, examples, fixtures.
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".json") {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			inputs = append(inputs, data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) < len(canonicalCases)+50 {
		t.Fatalf("only %d inputs", len(inputs))
	}
	fast := 0
	for _, in := range inputs {
		checkCanonicalize(t, in)
		if canon, err := transform(in); err == nil {
			checkCanonicalize(t, canon)
			if !isCanonical(canon) {
				t.Errorf("isCanonical rejects the canonical form %.200q", canon)
			}
			fast++
		}
	}
	t.Logf("%d inputs, %d canonicalizable", len(inputs), fast)
}

func stringsToBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// checkCanonicalize checks that Canonicalize agrees with the transform on
// in, and that isCanonical accepts in only if the transform keeps it.
func checkCanonicalize(t *testing.T, in []byte) {
	t.Helper()
	if !utf8.Valid(in) {
		return
	}
	want, werr := transform(in)
	if isCanonical(in) && (werr != nil || !bytes.Equal(want, in)) {
		t.Fatalf("isCanonical accepts %.200q, which the transform makes %.200q (%v)", in, want, werr)
	}
	got, gerr := Canonicalize(in)
	if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("Canonicalize(%.200q) = %.200q, %v; the transform gives %.200q, %v", in, got, gerr, want, werr)
	}
}

// FuzzCanonicalize checks Canonicalize's fast path against the transform
// on arbitrary texts and on their canonical forms.
func FuzzCanonicalize(f *testing.F) {
	for _, c := range canonicalCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkCanonicalize(t, in)
		if canon, err := transform(in); err == nil && utf8.Valid(in) {
			checkCanonicalize(t, canon)
		}
	})
}

// TestIsCanonicalRandom builds random JSON values from the characters and
// numbers where canonical forms are subtle (names beyond U+FFFF against
// U+E000–U+FFFF, escapes, exponents, -0, 2^53), writes them in encoding/json's
// order and in the transform's, and checks both, and single-byte variations
// of the canonical form, with checkCanonicalize.
func TestIsCanonicalRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8785, 1))
	runes := []rune{'a', 'b', 'z', 'A', '0', ' ', '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', 0, 1, 0x1f, 0x7f,
		'<', '>', '&', 'é', 0x2028, 0x2029, 0xe000, 0xff61, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff}
	numbers := []string{"0", "-0", "1", "-1", "0.5", "1.50", "100e-2", "1e21", "1E+21", "1e-7", "0.000001",
		"9007199254740993", "123456789012345", "1234567890123456", "5e-324", "1.7976931348623157e308", "0.1", "-2.5e-8"}
	str := func() string {
		var b strings.Builder
		n := rnd.IntN(4)
		if rnd.IntN(4) == 0 {
			n = rnd.IntN(40) // long enough for the eight-byte steps
		}
		for range n {
			b.WriteRune(runes[rnd.IntN(len(runes))])
		}
		return b.String()
	}
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var value func(depth int) string
	value = func(depth int) string {
		switch k := rnd.IntN(8); {
		case k < 2 && depth < 4:
			var parts []string
			for range rnd.IntN(5) {
				parts = append(parts, quote(str())+":"+value(depth+1))
			}
			return "{" + strings.Join(parts, ",") + "}"
		case k < 4 && depth < 4:
			var parts []string
			for range rnd.IntN(4) {
				parts = append(parts, value(depth+1))
			}
			return "[" + strings.Join(parts, ",") + "]"
		case k == 4:
			return numbers[rnd.IntN(len(numbers))]
		case k == 5:
			return []string{"true", "false", "null"}[rnd.IntN(3)]
		default:
			return quote(str())
		}
	}
	accepted := 0
	for range 20000 {
		in := []byte(value(0))
		checkCanonicalize(t, in)
		canon, err := transform(in)
		if err != nil {
			continue // a duplicate name
		}
		if !isCanonical(canon) {
			t.Fatalf("isCanonical rejects the canonical form %q", canon)
		}
		accepted++
		checkCanonicalize(t, canon)
		if len(canon) > 0 {
			v := bytes.Clone(canon)
			i := rnd.IntN(len(v))
			const variants = "{}[]\",:\\ 0-e.ua\x00\x1f\n\x7f\x80"
			v[i] = variants[rnd.IntN(len(variants))]
			checkCanonicalize(t, v)
			checkCanonicalize(t, append(v[:i:i], canon[i+1:]...))
		}
	}
	if accepted < 10000 {
		t.Fatalf("only %d random values had a canonical form", accepted)
	}
}
