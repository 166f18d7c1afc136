package spec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/runid/runid-oci/spec"
)

func TestDeclarationDepthAndYAMLScalars(t *testing.T) {
	deep := []string{
		strings.Repeat("[", 20000),
		"runid: \"1\"\nroles:\n  model:\n    " + strings.Repeat("- ", 20000) + "x\n",
		strings.Repeat("- ", 20000) + "x\n",
		"runid: \"1\"\nroles:\n  model: [\"a #\", " + strings.Repeat("[", 5000) + "]\n",
		"runid: '1'\nroles:\n  model: ['it''s', " + strings.Repeat("{a: ", 5000) + "]\n",
	}
	for i, d := range deep {
		_, err := spec.ParseDeclaration("deep.yaml", []byte(d))
		if !errors.Is(err, spec.ErrInvalidDeclaration) || !strings.Contains(err.Error(), "nested deeper") {
			t.Errorf("case %d: got %v, want nesting error", i, err)
		}
	}
	base := "runid: \"1\"\nroles:\n  model: none\n  system-prompt: none\n  tools: none\n  context: none\n  input: none\n  config: none\n  runtime: none\n  parameters:\n"
	tests := []struct{ yaml, want string }{
		{"    a: 1e3\n", `{"a":1000}`},
		{"    a: 017\n", `{"a":17}`},
		{"    a: 0x1F\n", `{"a":31}`},
		{"    a: 0o17\n", `{"a":15}`},
		{"    a: 1_000\n", `{"a":"1_000"}`},
		{"    a: yes\n", `{"a":"yes"}`},
		{"    a: True\n", `{"a":true}`},
		{"    a: ~\n", `{"a":null}`},
		{"    a: \"1e3\"\n", `{"a":"1e3"}`},
		{"    a: +.5\n", `{"a":0.5}`},
		{"    a: |\n      line1\n      line2\n", `{"a":"line1\nline2\n"}`},
	}
	for _, tc := range tests {
		d, err := spec.ParseDeclaration("x.yaml", []byte(base+tc.yaml))
		if err != nil {
			t.Errorf("%q: %v", tc.yaml, err)
			continue
		}
		if got := string(d.Components()[0].Inline); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.yaml, got, tc.want)
		}
	}
	bads := []struct {
		yaml string
		want error
	}{
		{"    a: .inf\n", spec.ErrInvalidJSON},
		{"    a: .nan\n", spec.ErrInvalidJSON},
		{"    a: 1e999\n", spec.ErrInvalidJSON},
		{"    a: !!str x\n", spec.ErrInvalidDeclaration},
		{"    1: x\n", spec.ErrInvalidDeclaration},
		{"    <<: {a: 1}\n", spec.ErrInvalidDeclaration},
		{"    a: &x 1\n    b: *x\n", spec.ErrInvalidDeclaration},
		{"    a: 1\n    a: 2\n", spec.ErrInvalidDeclaration},
	}
	for _, tc := range bads {
		_, err := spec.ParseDeclaration("x.yaml", []byte(base+tc.yaml))
		var fe *spec.FieldError
		if !errors.Is(err, tc.want) || !errors.As(err, &fe) || fe.Line == 0 {
			t.Errorf("%q: got %v, want %v with a line", tc.yaml, err, tc.want)
		}
	}
}
