package capture_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/spec"
)

// FuzzImport: whatever the body, Import never panics, and a body it
// accepts rebuilds to itself (Import checks that and fails with
// ErrRoundTrip otherwise, which would be a bug).
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(requestsDir, "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{}`, `{"messages":[{"role":"system","content":"s"}]}`, `{"input":"x","instructions":null}`,
		`{"tools":[{"function":{"name":"a/b"}},1],"functions":[]}`, `{"metadata":{"api_key":"x"},"Authorization":"y"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, format := range capture.Formats() {
			imp, err := capture.Import(t.Context(), format, body, capture.Options{Build: pack.BuildOptions{Concurrency: 1}})
			if errors.Is(err, capture.ErrRoundTrip) {
				t.Fatalf("%s: %v\n%s", format, err, body)
			}
			if err != nil {
				continue
			}
			got, err := capture.Rebuild(t.Context(), imp.Composition, capture.RebuildOptions{})
			if err != nil {
				t.Fatalf("%s: Rebuild: %v", format, err)
			}
			if _, err := spec.Canonicalize(got); err != nil {
				t.Fatalf("%s: rebuilt body is not canonical JSON: %v", format, err)
			}
		}
	})
}
