package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pull"
)

func TestVerify(t *testing.T) {
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			for _, ex := range examples {
				t.Run(ex, func(t *testing.T) {
					comp := pushExample(t, st, ex, ex, "v1")
					ref := st.ref(ex, "v1")
					text := mustRun(t, 0, args("verify", st.flags, ref)...).stdout
					if !strings.Contains(text, "Verified "+comp.Digest().String()) {
						t.Errorf("text output:\n%s", text)
					}
					mustRun(t, 0, args("verify", st.flags, ref, "--declaration", exampleDecl(ex))...)

					rep := decodeJSON[pull.Report](t, mustRun(t, 0, args("verify", append(st.flags, "-o", "json"), ref, "--declaration", exampleDecl(ex))...).stdout)
					if rep.Reference != ref {
						t.Errorf("json reference %q, want %q", rep.Reference, ref)
					}
					if !rep.Verified || rep.Digest != comp.Digest() || len(rep.Checks) == 0 || len(rep.Differences) != 0 {
						t.Errorf("json report verified=%v digest=%s checks=%d differences=%d", rep.Verified, rep.Digest, len(rep.Checks), len(rep.Differences))
					}
					for _, c := range rep.Checks {
						if !c.OK {
							t.Errorf("check %s %s failed: %s", c.Check, c.Subject, c.Message)
						}
					}
				})
			}
		})
	}
}

// TestVerifyTampered overwrites a component blob in a layout: exit 3 and the
// failed check named.
func TestVerifyTampered(t *testing.T) {
	layout := filepath.Join(t.TempDir(), "layout")
	st := store{flags: []string{"--oci-layout"}, ref: func(_, ref string) string { return layout + ":" + ref }}
	comp := pushExample(t, st, "rag-agent", "", "v1")
	victim := comp.Components[3]
	testutil.TamperBlob(t, layout, victim.Digest)

	r := mustRun(t, exitNotVerify, "verify", "--oci-layout", layout+":v1")
	for _, s := range []string{"does not verify", "blob-digest", victim.Name} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("text report lacks %q:\n%s", s, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "does not verify") {
		t.Errorf("stderr lacks the error:\n%s", r.stderr)
	}
	rep := decodeJSON[pull.Report](t, mustRun(t, exitNotVerify, "verify", "--oci-layout", "-o", "json", layout+":v1").stdout)
	if rep.Verified {
		t.Errorf("json report says verified")
	}
	found := false
	for _, c := range rep.Checks {
		if c.Check == "blob-digest" && c.Subject == victim.Name && !c.OK {
			found = true
		}
	}
	if !found {
		t.Errorf("json report has no failed blob-digest check for %s: %+v", victim.Name, rep.Checks)
	}
}

// TestVerifyDeclarationDiffers checks an identity against a declaration whose
// file changed: exit 3, the component listed.
func TestVerifyDeclarationDiffers(t *testing.T) {
	layout := filepath.Join(t.TempDir(), "layout")
	st := store{flags: []string{"--oci-layout"}, ref: func(_, ref string) string { return layout + ":" + ref }}
	pushExample(t, st, "rag-agent", "", "v1")

	decl := copyExample(t, "rag-agent")
	warranty := filepath.Join(filepath.Dir(decl), "context", "03-warranty.md")
	if err := os.WriteFile(warranty, []byte("Warranty: none.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, exitNotVerify, "verify", "--oci-layout", layout+":v1", "--declaration", decl)
	for _, s := range []string{"declaration", "context/03-warranty.md", "changed"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("text report lacks %q:\n%s", s, r.stdout)
		}
	}
	rep := decodeJSON[pull.Report](t, mustRun(t, exitNotVerify, "verify", "--oci-layout", layout+":v1", "--declaration", decl, "-o", "json").stdout)
	if len(rep.Differences) != 1 || rep.Differences[0].Name != "context/03-warranty.md" || rep.Differences[0].Change != "changed" {
		t.Errorf("json differences %+v, want context/03-warranty.md changed", rep.Differences)
	}
}

func TestVerifyErrors(t *testing.T) {
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	mustRun(t, 0, "push", "--oci-layout", layout+":v1", exampleDecl("minimal"))
	runFailures(t, []failCase{
		{"no argument", []string{"verify"}, exitUsage, "TARGET"},
		{"unknown tag", []string{"verify", "--oci-layout", layout + ":nope"}, exitError, "nope"},
		{"unreachable registry", []string{"verify", "--plain-http", "127.0.0.1:1/runs:v1"}, exitError, "127.0.0.1:1"},
		{"missing declaration", []string{"verify", "--oci-layout", layout + ":v1", "--declaration", filepath.Join(dir, "nope.yaml")}, exitError, "nope.yaml"},
	})
}

// copyExample copies an example directory into a temporary directory and
// returns the path of its declaration.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(examplesDir, name))); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dst, "runid.yaml")
}
