package main

import (
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
)

// wantInspect is what inspect must report for a composition.
func wantInspect(ref string, c *pack.Composition) inspectResult {
	d := c.Identity.Descriptor()
	return inspectResult{
		Reference: ref, Digest: d.Digest, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: mediatype.Identity, Size: d.Size, SpecVersion: mediatype.SpecVersion,
		Roles: orderedRoles(c.Identity.Document.Roles), Components: c.Identity.Document.Components,
	}
}

func checkInspect(t *testing.T, flags []string, ref string, want inspectResult) {
	t.Helper()
	text := mustRun(t, 0, args("inspect", flags, ref)...).stdout
	lines := []string{"Digest:", string(want.Digest), "Spec version:  " + want.SpecVersion}
	for _, c := range want.Components {
		lines = append(lines, c.Role, c.Name, c.MediaType, c.Digest.String())
	}
	for _, s := range lines {
		if !strings.Contains(text, s) {
			t.Errorf("text output lacks %q:\n%s", s, text)
		}
	}
	// Every core role, in canonical order, then the extensions.
	last := -1
	for _, rs := range want.Roles {
		i := strings.Index(text, "\n"+rs.Role+" ")
		if i < 0 || !strings.Contains(text[i:i+80], rs.State) {
			t.Errorf("text output lacks role line %s %s:\n%s", rs.Role, rs.State, text)
		} else if i < last {
			t.Errorf("role %s out of canonical order:\n%s", rs.Role, text)
		}
		last = i
	}

	got := decodeJSON[inspectResult](t, mustRun(t, 0, args("inspect", append(flags, "-o", "json"), ref)...).stdout)
	if got.Reference != want.Reference || got.Digest != want.Digest || got.MediaType != want.MediaType ||
		got.ArtifactType != want.ArtifactType || got.Size != want.Size || got.SpecVersion != want.SpecVersion {
		t.Errorf("json header %+v, want %+v", got, want)
	}
	if len(got.Roles) != len(want.Roles) || len(got.Roles) < len(mediatype.CoreRoles()) {
		t.Fatalf("json roles %v, want %v", got.Roles, want.Roles)
	}
	for i := range want.Roles {
		if got.Roles[i] != want.Roles[i] {
			t.Errorf("json roles[%d] = %v, want %v", i, got.Roles[i], want.Roles[i])
		}
	}
	if len(got.Components) != len(want.Components) {
		t.Fatalf("json has %d components, want %d", len(got.Components), len(want.Components))
	}
	for i := range want.Components {
		if got.Components[i] != want.Components[i] {
			t.Errorf("json components[%d] = %+v, want %+v", i, got.Components[i], want.Components[i])
		}
	}
}

func TestInspect(t *testing.T) {
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			for _, ex := range examples {
				t.Run(ex, func(t *testing.T) {
					comp := pushExample(t, st, ex, ex, "v1")
					d := comp.Digest().String()
					checkInspect(t, st.flags, st.ref(ex, "v1"), wantInspect(st.ref(ex, "v1"), comp))
					checkInspect(t, st.flags, st.ref(ex, d), wantInspect(st.ref(ex, d), comp))
				})
			}
		})
	}
}

// TestInspectLayoutTar inspects an OCI layout tar file by tag and by digest.
func TestInspectLayoutTar(t *testing.T) {
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	st := store{flags: []string{"--oci-layout"}, ref: func(_, ref string) string { return layout + ":" + ref }}
	comp := pushExample(t, st, "extension-role", "", "v1")
	tarPath := filepath.Join(dir, "run.tar")
	testutil.TarDir(t, layout, tarPath)
	for _, ref := range []string{tarPath + ":v1", tarPath + "@" + comp.Digest().String()} {
		t.Run(filepath.Base(ref), func(t *testing.T) {
			checkInspect(t, st.flags, ref, wantInspect(ref, comp))
		})
	}
	// A tar file is read-only.
	r := mustRun(t, exitError, "push", "--oci-layout", tarPath+":v2", exampleDecl("minimal"))
	if !strings.Contains(r.stderr, "read-only") {
		t.Errorf("push to a tar: stderr does not say read-only:\n%s", r.stderr)
	}
}

func TestInspectErrors(t *testing.T) {
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	mustRun(t, 0, "push", "--oci-layout", layout+":v1", exampleDecl("minimal"))
	runFailures(t, []failCase{
		{"no argument", []string{"inspect"}, exitUsage, "TARGET"},
		{"two arguments", []string{"inspect", "a", "b"}, exitUsage, "TARGET"},
		{"unknown tag", []string{"inspect", "--oci-layout", layout + ":nope"}, exitError, "nope"},
		{"missing layout", []string{"inspect", "--oci-layout", filepath.Join(dir, "none") + ":v1"}, exitError, "none"},
		{"unreachable registry", []string{"inspect", "--plain-http", "127.0.0.1:1/runs:v1"}, exitError, "127.0.0.1:1"},
	})
}
