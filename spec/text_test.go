package spec_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/runid/runid-oci/spec"
)

// declWith is a declaration whose input role is one text component with
// the given name and text, both written as they are.
func declWith(name, text string) string {
	return "runid: \"1\"\nroles:\n  model: none\n  parameters: none\n  system-prompt: none\n  tools: none\n  context: none\n" +
		"  input:\n    - name: " + name + "\n      text: " + text + "\n  config: none\n  runtime: none\n"
}

// Bytes that are not UTF-8 are refused where they stand, never replaced
// by U+FFFD, which would give three declarations that differ only there
// one identity.
func TestDeclarationInvalidUTF8(t *testing.T) {
	tests := []struct {
		decl      string
		line, col int
	}{
		{declWith(`"y`+"\xff\xfe"+`"`, "x"), 9, 15},
		{declWith(`"y`+"\xfe\xff"+`"`, "x"), 9, 15},
		{declWith("a.txt", `"y`+"\xff\xfe"+`"`), 10, 15},
		{declWith("a.txt", "y\xfe\xff"), 10, 14},
		{declWith("a.txt", "|\n        ok\n        \xc3("), 12, 9},
		{"runid: \"1\"\n# comment \xed\xa0\x80\n", 2, 11}, // an encoded surrogate
	}
	for _, tc := range tests {
		_, err := spec.ParseDeclaration("runid.yaml", []byte(tc.decl))
		var fe *spec.FieldError
		if !errors.As(err, &fe) || !errors.Is(err, spec.ErrInvalidDeclaration) {
			t.Errorf("%q: got %v, want a refusal", tc.decl, err)
			continue
		}
		if fe.Line != tc.line || fe.Column != tc.col || !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("%q: got %v (line %d, column %d), want line %d column %d and the reason", tc.decl, err, fe.Line, fe.Column, tc.line, tc.col)
		}
		if want := fmt.Sprintf("runid.yaml:%d:%d: ", tc.line, tc.col); !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: error %q does not start with %q", tc.decl, err, want)
		}
	}
	// The escape of U+FFFD is text and stays a distinct name and content;
	// in a logical name it is refused by §4.2.
	d, err := spec.ParseDeclaration("runid.yaml", []byte(declWith("a.txt", `"y\uFFFD\uFFFD"`)))
	if err != nil || *d.Components()[0].Text != "y\uFFFD\uFFFD" {
		t.Fatalf("escaped U+FFFD in text: %v", err)
	}
	if _, err := spec.ParseDeclaration("runid.yaml", []byte(declWith(`"y\uFFFD\uFFFD"`, "x"))); !errors.Is(err, spec.ErrInvalidName) {
		t.Errorf("escaped U+FFFD in a name: got %v, want ErrInvalidName", err)
	}
	// Control characters outside YAML's printable set are refused too.
	for _, c := range []string{"\x00", "\x07", "\x7f", "\u0080", "\u009f", "\uffff"} {
		_, err := spec.ParseDeclaration("runid.yaml", []byte(declWith("a.txt", `"y`+c+`"`)))
		var fe *spec.FieldError
		if !errors.As(err, &fe) || fe.Line != 10 || fe.Column != 15 {
			t.Errorf("character %q: got %v, want a refusal at 10:15", c, err)
		}
	}
}

// YAML 1.2 constructs that a declaration takes: a byte order mark and a
// %YAML 1.2 directive, both without changing the identity; and tabs in
// comments and block scalars. Tabs anywhere else are refused with their
// line and column.
func TestDeclarationYAML12(t *testing.T) {
	plain := declWith("a.txt", "|\n        x\ty\n        \tz  # not a comment")
	want, err := spec.ParseDeclaration("runid.yaml", []byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if got := *want.Components()[0].Text; got != "x\ty\n\tz  # not a comment\n" {
		t.Fatalf("block scalar with tabs: %q", got)
	}
	for name, decl := range map[string]string{
		"bom":               "\uFEFF" + plain,
		"directive":         "%YAML 1.2\n---\n" + plain,
		"bom and directive": "\uFEFF%YAML 1.2\n---\n" + plain,
		"comment with tab":  "#\tsupport agent\n" + plain,
		"document marker":   "---\n" + plain,
	} {
		d, err := spec.ParseDeclaration("runid.yaml", []byte(decl))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if *d.Components()[0].Text != *want.Components()[0].Text {
			t.Errorf("%s: text %q", name, *d.Components()[0].Text)
		}
	}
	for _, tc := range []struct {
		decl      string
		line, col int
		msg       string
	}{
		{declWith("a.txt", "\"x\ty\""), 10, 15, "tab"},
		{declWith("a.txt", "'x\ty'"), 10, 15, "tab"},
		{declWith("a.txt", "x\ty"), 10, 14, "tab"},
		{declWith("a.txt", "[\"x\ty\"]"), 10, 16, "tab"},
		{"runid:\t\"1\"\n", 1, 7, "tab"},
		{"%YAML 1.1\n---\n" + plain, 1, 0, "%YAML 1.2"},
		{"%TAG ! tag:example.com,2000:\n---\n" + plain, 1, 0, "%YAML 1.2"},
	} {
		_, err := spec.ParseDeclaration("runid.yaml", []byte(tc.decl))
		var fe *spec.FieldError
		if !errors.As(err, &fe) || !errors.Is(err, spec.ErrInvalidDeclaration) || fe.Line != tc.line || fe.Column != tc.col || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: got %v, want a refusal at %d:%d naming %q", tc.decl, err, tc.line, tc.col, tc.msg)
		}
	}
}

// nested is a declaration whose parameters hold a chain of mappings
// (b: ... ) levels deep, indented by indent spaces a level, so that the
// whole declaration is levels+2 deep.
func nested(levels, indent int) string {
	var b strings.Builder
	b.WriteString("runid: \"1\"\nroles:\n  model: none\n  system-prompt: none\n  tools: none\n  context: none\n  input: none\n  config: none\n  runtime: none\n  parameters:\n")
	for i := 0; i < levels; i++ {
		b.WriteString(strings.Repeat(" ", 2+indent*(i+1)) + "b:")
		if i == levels-1 {
			b.WriteString(" 1")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Depth is counted on the value, never on the text: 64 levels pass and 65
// fail whatever the indentation or the style.
func TestDeclarationDepthExact(t *testing.T) {
	for _, indent := range []int{1, 2, 4, 8} {
		// The top-level mapping and roles are two levels; parameters and
		// the chain of mappings in it, one a key.
		if _, err := spec.ParseDeclaration("d.yaml", []byte(nested(spec.MaxDeclarationDepth-2, indent))); err != nil {
			t.Errorf("indent %d, depth %d: %v", indent, spec.MaxDeclarationDepth, err)
		}
		_, err := spec.ParseDeclaration("d.yaml", []byte(nested(spec.MaxDeclarationDepth-1, indent)))
		var fe *spec.FieldError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "65 levels deep") || fe.Line == 0 {
			t.Errorf("indent %d, depth 65: got %v, want a refusal with its line", indent, err)
		}
	}
	flow := func(levels int) string {
		return strings.Replace(nested(0, 2), "  parameters:\n", "  parameters: {a: "+strings.Repeat("[", levels-3)+strings.Repeat("]", levels-3)+"}\n", 1)
	}
	if _, err := spec.ParseDeclaration("d.yaml", []byte(flow(64))); err != nil {
		t.Errorf("flow depth 64: %v", err)
	}
	if _, err := spec.ParseDeclaration("d.yaml", []byte(flow(65))); err == nil || !strings.Contains(err.Error(), "65 levels deep") {
		t.Errorf("flow depth 65: got %v", err)
	}
	// Brackets and dashes in block scalars and quoted scalars are text.
	text := declWith("a.txt", "|\n        "+strings.Repeat("[", 200)+"\n        "+strings.Repeat("- ", 200))
	if _, err := spec.ParseDeclaration("d.yaml", []byte(text)); err != nil {
		t.Errorf("brackets in a block scalar: %v", err)
	}
}

// Numbers too small for a double are refused like those too large, in
// declarations and in JSON files; the smallest subnormal is a number.
func TestNumberUnderflow(t *testing.T) {
	base := strings.Replace(nested(0, 2), "  parameters:\n", "  parameters:\n    a: %s\n", 1)
	for _, n := range []string{"1e-400", "-2.5E-999", "0." + strings.Repeat("0", 400) + "1"} {
		if _, err := spec.ParseDeclaration("d.yaml", []byte(fmt.Sprintf(base, n))); !errors.Is(err, spec.ErrInvalidJSON) || !strings.Contains(err.Error(), "too small") {
			t.Errorf("declaration %s: got %v", n, err)
		}
		if _, err := spec.Canonicalize([]byte(`{"a":[1,"1e-400",` + n + `]}`)); !errors.Is(err, spec.ErrInvalidJSON) || !strings.Contains(err.Error(), "line 1, column 18") {
			t.Errorf("JSON %s: got %v", n, err)
		}
	}
	for _, n := range []string{"0e-400", "0.000", "5e-324", "-0"} {
		if _, err := spec.ParseDeclaration("d.yaml", []byte(fmt.Sprintf(base, n))); err != nil {
			t.Errorf("declaration %s: %v", n, err)
		}
		if _, err := spec.Canonicalize([]byte(`[` + n + `]`)); err != nil {
			t.Errorf("JSON %s: %v", n, err)
		}
	}
}

// The name rules use the character categories of the Unicode version
// that the specification names; a Go release with other tables must
// update spec/SPEC.md §4.2 first.
func TestNameRulesUnicodeVersion(t *testing.T) {
	if unicode.Version != "15.0.0" {
		t.Fatalf("Go's unicode package implements Unicode %s; spec/SPEC.md §4.2 names 15.0.0", unicode.Version)
	}
	for _, bad := range []string{"COM¹", "lpt³.txt", "CON .txt", "nul  .json", "a/COM0", "LPT0.log", "conin$", "CONOUT$.txt", "AUX"} {
		if err := spec.ValidateName(bad); !errors.Is(err, spec.ErrInvalidName) {
			t.Errorf("%q: got %v, want a Windows device name refused", bad, err)
		}
	}
	for _, good := range []string{"COM10", "COM", "CONSOLE.txt", "LPT⁴", "a.CON", "x/NULL.md", "COM1x"} {
		if err := spec.ValidateName(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}
