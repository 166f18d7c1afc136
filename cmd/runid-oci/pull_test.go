package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
)

func TestPull(t *testing.T) {
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			for _, ex := range examples {
				t.Run(ex, func(t *testing.T) {
					comp := pushExample(t, st, ex, ex, "v1")
					ref := st.ref(ex, "v1")
					dir := filepath.Join(t.TempDir(), "out")

					text := mustRun(t, 0, args("pull", st.flags, ref, "--dir", dir)...).stdout
					if !strings.Contains(text, comp.Digest().String()) {
						t.Errorf("text output does not name the digest:\n%s", text)
					}
					for _, c := range comp.Components {
						p := filepath.Join(dir, filepath.FromSlash(c.Name))
						got, err := os.ReadFile(p)
						if err != nil {
							t.Errorf("%s not written: %v", c.Name, err)
						} else if !bytes.Equal(got, testutil.ComponentBytes(t, c)) {
							t.Errorf("%s: pulled bytes differ from the packed ones", c.Name)
						}
						if !strings.Contains(text, p) {
							t.Errorf("text output does not list %s:\n%s", p, text)
						}
					}

					// Existing files are kept unless --overwrite.
					r := mustRun(t, exitError, args("pull", st.flags, ref, "--dir", dir)...)
					if r.stdout != "" {
						t.Errorf("stdout not empty on error: %q", r.stdout)
					}
					// --no-sync writes the same files, without flushing them.
					j := decodeJSON[pullResult](t, mustRun(t, 0, args("pull", append(st.flags, "--format", "json"), ref, "-o", dir, "--overwrite", "--no-sync")...).stdout)
					if !j.Verified || j.Digest != comp.Digest() || j.Directory != dir || len(j.Files) != len(comp.Components) {
						t.Errorf("json: verified=%v digest=%s directory=%s files=%d", j.Verified, j.Digest, j.Directory, len(j.Files))
					}
					for _, c := range comp.Components {
						got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(c.Name)))
						if err != nil || !bytes.Equal(got, testutil.ComponentBytes(t, c)) {
							t.Errorf("%s after --overwrite --no-sync: %v, or the bytes differ from the packed ones", c.Name, err)
						}
					}
				})
			}
		})
	}
}

// TestPullTampered writes nothing when the identity does not verify.
func TestPullTampered(t *testing.T) {
	layout := filepath.Join(t.TempDir(), "layout")
	st := store{flags: []string{"--oci-layout"}, ref: func(_, ref string) string { return layout + ":" + ref }}
	comp := pushExample(t, st, "minimal", "", "v1")
	testutil.TamperBlob(t, layout, comp.Components[len(comp.Components)-1].Digest)

	dir := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, exitNotVerify, "pull", "--oci-layout", layout+":v1", "--dir", dir)
	if !strings.Contains(r.stdout, "blob-digest") {
		t.Errorf("text report lacks blob-digest:\n%s", r.stdout)
	}
	for _, c := range comp.Components {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(c.Name))); err == nil {
			t.Errorf("%s written although the identity does not verify", c.Name)
		}
	}
}

func TestPullUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		inStderr string
	}{
		{"no argument", []string{"pull", "--dir", "x"}, "TARGET"},
		{"no --dir", []string{"pull", "--oci-layout", "x:v1"}, "--dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, exitUsage, tt.args...)
			if !strings.Contains(r.stderr, tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, r.stderr)
			}
		})
	}
}
