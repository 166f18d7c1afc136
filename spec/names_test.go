package spec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/runid/runid-oci/spec"
)

func TestValidateName(t *testing.T) {
	good := []string{"a", "system.md", "docs/01-refund.md", "tools/search.json", "ünïcode/名前.txt", strings.Repeat("a", 255)}
	bad := []string{"", "/etc/x", "../x", "a/../../b", "a/./b", "a//b", `C:\x`, "C:x", "a\\b", "a\x00b", "a\x01b", "a\nb",
		"a/", "trailing.", "trailing ", strings.Repeat("a", 256), "\xff"}
	for _, n := range good {
		t.Run("good "+n[:min(len(n), 20)], func(t *testing.T) {
			if err := spec.ValidateName(n); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, n := range bad {
		t.Run("bad "+n[:min(len(n), 20)], func(t *testing.T) {
			if err := spec.ValidateName(n); !errors.Is(err, spec.ErrInvalidName) {
				t.Fatalf("ValidateName(%q) = %v, want ErrInvalidName", n, err)
			}
		})
	}
}

func TestValidateRole(t *testing.T) {
	for _, r := range []string{"model", "runtime", "com.example.guardrails", "dev.runid.x-y"} {
		if err := spec.ValidateRole(r); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	for _, r := range []string{"", "foo", "Model", "com", "com..x", ".com.x", "com.Example.x", "com.example/x"} {
		if err := spec.ValidateRole(r); !errors.Is(err, spec.ErrUnknownRole) {
			t.Errorf("%q: got %v, want ErrUnknownRole", r, err)
		}
	}
}

func TestCanonicalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":1,"a":[1.0,2e3,"x"]}`, `{"a":[1,2000,"x"],"b":1}`},
		{" {\n \"z\" : null , \"é\": \"\\u00e9\" } ", `{"z":null,"é":"é"}`},
		{`"<&>"`, `"<&>"`},
	}
	for _, tc := range tests {
		got, err := spec.Canonicalize([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Canonicalize(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{``, "\"\xff\"", `{`, `{"a":1,"a":2}`, `{} {}`, `[1,]`, `nul`} {
		if _, err := spec.Canonicalize([]byte(bad)); !errors.Is(err, spec.ErrInvalidJSON) {
			t.Errorf("Canonicalize(%q): got %v, want ErrInvalidJSON", bad, err)
		}
	}
}
