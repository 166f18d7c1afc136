package main

import (
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testregistry"
)

// TestNoWarningForSupersededIndex: on Distribution as it ships (no
// referrers API, manifest deletes refused with 405), attach and sign
// replace the tag-schema referrers index and cannot delete the one they
// supersede. That is expected and needs nothing from the user: no WARN on
// stderr, and an info line with --verbose.
func TestNoWarningForSupersededIndex(t *testing.T) {
	priv, _ := newCLIKey(t)
	reg := testregistry.StartStockDistribution(t)
	ref := reg.Ref("runs/stock", "v1")
	mustRun(t, 0, "push", "--plain-http", ref, exampleDecl("minimal"))
	files := outputFiles(t, []string{"a.md", "b.md", "c.md"}, map[string]string{"a.md": "one\n", "b.md": "two\n", "c.md": "three\n"})
	// The first referrer creates the index; each later one supersedes it.
	mustRun(t, 0, "attach", "--plain-http", ref, files[0])

	const info = "superseded referrers index left in place"
	for _, c := range []struct {
		name string
		args []string
	}{
		{"attach", []string{"attach", "--plain-http", ref, files[1]}},
		{"sign", []string{"sign", "--plain-http", "--new-bundle-format", "--key", priv, ref}},
		{"attach --verbose", []string{"attach", "--verbose", "--plain-http", ref, files[2]}},
		{"sign --verbose", []string{"sign", "--verbose", "--plain-http", "--new-bundle-format", "--key", priv, ref}},
	} {
		r := mustRun(t, 0, c.args...)
		if strings.Contains(r.stderr, "level=WARN") {
			t.Errorf("%s: a warning on stderr:\n%s", c.name, r.stderr)
		}
		verbose := strings.Contains(c.name, "--verbose")
		if got := strings.Contains(r.stderr, "level=INFO") && strings.Contains(r.stderr, info); got != verbose {
			t.Errorf("%s: info line %q shown = %v, want %v; stderr:\n%s", c.name, info, got, verbose, r.stderr)
		}
	}
}
