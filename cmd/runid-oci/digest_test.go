package main

import (
	"strings"
	"testing"
)

func TestDigest(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex, func(t *testing.T) {
			decl := exampleDecl(ex)
			want := packDigest(t, decl)

			r := mustRun(t, 0, "digest", decl)
			if got := strings.TrimSpace(r.stdout); got != want {
				t.Errorf("text output %q, want %q", got, want)
			}
			if r.stderr != "" {
				t.Errorf("stderr not empty: %q", r.stderr)
			}

			j := decodeJSON[struct {
				Digest string `json:"digest"`
			}](t, mustRun(t, 0, "digest", "--output", "json", decl).stdout)
			if j.Digest != want {
				t.Errorf("json digest %q, want %q", j.Digest, want)
			}
		})
	}
}
