package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputFormatSpellings: --output json, -o json and --format json (an
// oras user's spelling) all choose JSON; disagreeing or unknown values are
// usage errors that name the flags.
func TestOutputFormatSpellings(t *testing.T) {
	decl := exampleDecl("minimal")
	want := packDigest(t, decl)
	for _, flags := range [][]string{
		{"--output", "json"}, {"-o", "json"}, {"--format", "json"}, {"--format=json", "-o", "json"}, {"--output=json", "--format", "json"},
	} {
		r := mustRun(t, 0, append(append([]string{"digest"}, flags...), decl)...)
		var out struct{ Digest string }
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Digest != want {
			t.Errorf("digest %v: stdout %q (%v), want JSON with digest %s", flags, r.stdout, err, want)
		}
	}
	for _, flags := range [][]string{{"--format", "text"}, {"-o", "text", "--format", "text"}} {
		if r := mustRun(t, 0, append(append([]string{"digest"}, flags...), decl)...); strings.TrimSpace(r.stdout) != want {
			t.Errorf("digest %v: stdout %q, want the digest as text", flags, r.stdout)
		}
	}
	for _, c := range []struct {
		flags []string
		names []string
	}{
		{[]string{"--output", "json", "--format", "text"}, []string{"--output json", "--format text"}},
		{[]string{"-o", "text", "--format", "json"}, []string{"--output text", "--format json"}},
		{[]string{"--format", "yaml"}, []string{"--format", "yaml"}},
		{[]string{"-o", "yaml"}, []string{"--output", "yaml"}},
	} {
		r := mustRun(t, exitUsage, append(append([]string{"digest"}, c.flags...), decl)...)
		for _, n := range c.names {
			if !strings.Contains(r.stderr, n) {
				t.Errorf("digest %v: stderr %q does not name %q", c.flags, r.stderr, n)
			}
		}
	}
}

// TestPullOutputDirectory: on pull, -o and --output name the directory as
// with oras pull, like --dir; --format json chooses JSON; -o and --dir that
// disagree are a usage error naming both.
func TestPullOutputDirectory(t *testing.T) {
	st := stores(t)[0]
	comp := pushExample(t, st, "minimal", "pulldir", "v1")
	ref := st.ref("pulldir", "v1")
	base := t.TempDir()
	for i, flags := range [][]string{
		{"-o", filepath.Join(base, "a")},
		{"--output", filepath.Join(base, "b")},
		{"--dir", filepath.Join(base, "c")},
		{"-o", filepath.Join(base, "d"), "--dir", filepath.Join(base, "d")},
	} {
		dir := flags[1]
		r := mustRun(t, 0, args("pull", append(append([]string{}, st.flags...), flags...), ref)...)
		if !strings.Contains(r.stdout, "into "+dir) {
			t.Errorf("pull %v: stdout %q does not name %s", flags, r.stdout, dir)
		}
		for _, c := range comp.Identity.Document.Components {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(c.Name))); err != nil {
				t.Errorf("pull %d %v: %v", i, flags, err)
			}
		}
	}

	dir := filepath.Join(base, "json")
	r := mustRun(t, 0, args("pull", append(append([]string{}, st.flags...), "--format", "json", "-o", dir), ref)...)
	res := decodeJSON[pullResult](t, r.stdout)
	if res.Directory != dir || res.Digest != comp.Digest() {
		t.Errorf("pull --format json: directory %q digest %s, want %s %s", res.Directory, res.Digest, dir, comp.Digest())
	}

	for _, c := range []struct {
		flags []string
		names []string
	}{
		{[]string{"-o", filepath.Join(base, "x"), "--dir", filepath.Join(base, "y")}, []string{"--dir", "-o/--output", "--format json"}},
		{[]string{"--format", "json"}, []string{"-o DIR", "--dir"}},
	} {
		r := mustRun(t, exitUsage, args("pull", append(append([]string{}, st.flags...), c.flags...), ref)...)
		for _, n := range c.names {
			if !strings.Contains(r.stderr, n) {
				t.Errorf("pull %v: stderr %q does not name %q", c.flags, r.stderr, n)
			}
		}
	}
}

// TestExportFormatIsItsOwn: on export, --format is the export format; a
// text or json value says so.
func TestExportFormatIsItsOwn(t *testing.T) {
	st := stores(t)[0]
	pushExample(t, st, "minimal", "exportfmt", "v1")
	ref := st.ref("exportfmt", "v1")
	r := mustRun(t, 0, args("export", st.flags, ref, "--format", "cyclonedx")...)
	if !strings.Contains(r.stdout, `"bomFormat"`) {
		t.Errorf("export --format cyclonedx: not a CycloneDX BOM:\n%s", r.stdout)
	}
	r = mustRun(t, exitUsage, args("export", st.flags, ref, "--format", "json")...)
	if !strings.Contains(r.stderr, "export format, cyclonedx or intoto") {
		t.Errorf("export --format json: stderr %q does not explain --format on export", r.stderr)
	}
}
