package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/runid/runid-oci/pull"
)

// A layout whose index.json misstates a manifest, or lists one that does
// not decode, is verified (exit 3, naming the check) rather than refused
// unread (exit 1): these are cases of the conformance suite.
func TestVerifyLyingLayouts(t *testing.T) {
	for name, check := range map[string]string{
		"manifest-digest":             "manifest-digest",
		"manifest-size":               "manifest-size",
		"manifest-json-size-fraction": "manifest-json",
	} {
		t.Run(name, func(t *testing.T) {
			layout := filepath.Join(t.TempDir(), "layout")
			if err := os.CopyFS(layout, os.DirFS(filepath.Join("..", "..", "spec", "conformance", "verifier", name, "layout"))); err != nil {
				t.Fatal(err)
			}
			var exp struct{ Reference string }
			if err := json.Unmarshal(must(os.ReadFile(filepath.Join("..", "..", "spec", "conformance", "verifier", name, "expected.json"))), &exp); err != nil {
				t.Fatal(err)
			}
			ref := layout + ":" + exp.Reference
			if exp.Reference != "run" {
				ref = layout + "@" + exp.Reference
			}
			r := mustRun(t, exitNotVerify, "verify", "--oci-layout", "--output", "json", ref)
			rep := decodeJSON[pull.Report](t, r.stdout)
			var failed []string
			for _, c := range rep.Checks {
				if !c.OK {
					failed = append(failed, c.Check)
				}
			}
			if len(failed) != 1 || failed[0] != check {
				t.Errorf("failed checks %v, want [%s]", failed, check)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
