package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// TestCopyCommand signs an identity in an OCI layout, exports the layout as
// a tar file, copies the tar to a registry without the referrers API, from
// there to one with it, and back to a layout; the identity and both its
// signatures verify and are discovered at every step.
func TestCopyCommand(t *testing.T) {
	priv, pubFile := newCLIKey(t)
	pub, err := sigverify.LoadPublicKeyFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	layout := filepath.Join(dir, "runs")
	decl := exampleDecl("rag-agent")
	r := mustRun(t, 0, "push", "--oci-layout", "-o", "json", layout+":v1", decl)
	pushed := decodeJSON[pushResult](t, r.stdout)
	mustRun(t, 0, "sign", "--oci-layout", "--key", priv, layout+":v1")
	mustRun(t, 0, "sign", "--oci-layout", "--key", priv, "--new-bundle-format", layout+":v1")
	tarFile := filepath.Join(dir, "runs.tar")
	testutil.TarDir(t, layout, tarFile)

	dist, ggcr := testregistry.StartDistribution(t), testregistry.StartGGCR(t)
	back := filepath.Join(dir, "back")
	steps := []struct {
		name  string
		args  []string
		store func(t *testing.T) oras.ReadOnlyGraphTarget
	}{
		{"tar-to-distribution", []string{"copy", "--from-oci-layout", "--to-plain-http", tarFile + ":v1", dist.Ref("mirror/runs", "")},
			func(t *testing.T) oras.ReadOnlyGraphTarget { return testregistry.Repository(t, dist, "mirror/runs") }},
		{"distribution-to-ggcr", []string{"copy", "--from-plain-http", "--to-plain-http", dist.Ref("mirror/runs", "v1"), ggcr.Ref("other/runs", "copied")},
			func(t *testing.T) oras.ReadOnlyGraphTarget { return testregistry.Repository(t, ggcr, "other/runs") }},
		{"ggcr-to-layout", []string{"copy", "--from-plain-http", "--to-oci-layout", ggcr.Ref("other/runs", pushed.Digest.String()), back + "@" + pushed.Digest.String()},
			func(t *testing.T) oras.ReadOnlyGraphTarget {
				s, err := oci.NewWithContext(t.Context(), back)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			r := mustRun(t, 0, append(step.args[:1:1], append([]string{"-o", "json"}, step.args[1:]...)...)...)
			out := decodeJSON[copyOutput](t, r.stdout)
			if out.Digest != pushed.Digest || len(out.Referrers) != 2 || len(out.SignatureTags) != 1 {
				t.Errorf("output %+v", out)
			}
			store := step.store(t)
			subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: pushed.Digest, Size: pushed.Size}
			rep, err := sigverify.VerifySignatures(t.Context(), store, subject, pub, sigverify.Options{})
			if err != nil || rep.Verified != 2 {
				t.Fatalf("signatures at the destination: %v %+v", err, rep)
			}
			if _, err := pull.Verify(t.Context(), store, pushed.Digest.String(), pull.VerifyOptions{}); err != nil {
				t.Errorf("identity at the destination: %v", err)
			}
			refs, err := registry.Referrers(t.Context(), store, subject, "")
			if err != nil || len(refs) != 2 {
				t.Errorf("referrers at the destination: %v %v", err, refs)
			}
			tag, _ := spec.SignatureTag(pushed.Digest)
			if !slices.Contains(out.SignatureTags, tag) {
				t.Errorf("signature tags %v", out.SignatureTags)
			}
		})
	}
	// Text output.
	r = mustRun(t, 0, "copy", "--from-oci-layout", "--to-oci-layout", tarFile+":v1", filepath.Join(dir, "text")+":v9")
	if !strings.Contains(r.stdout, pushed.Digest.String()) || !strings.Contains(r.stdout, ":v9 with 2 referrer(s) and 1 signature tag(s)") {
		t.Errorf("text output %q", r.stdout)
	}
}

func TestCopyCommandErrors(t *testing.T) {
	dir := t.TempDir()
	layout := filepath.Join(dir, "runs")
	mustRun(t, 0, "push", "--oci-layout", layout+":v1", exampleDecl("minimal"))
	other := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"one argument", []string{"copy", layout}, exitUsage, "takes 2 argument(s)"},
		{"no source reference", []string{"copy", "--from-oci-layout", "--to-oci-layout", layout, filepath.Join(dir, "x")}, exitUsage, "names no tag or digest"},
		{"digest mismatch", []string{"copy", "--from-oci-layout", "--to-oci-layout", layout + ":v1", filepath.Join(dir, "x") + "@" + other}, exitUsage, "names digest"},
		{"missing source tag", []string{"copy", "--from-oci-layout", "--to-oci-layout", layout + ":v2", filepath.Join(dir, "x")}, exitError, "copy failed"},
		{"read-only destination", []string{"copy", "--from-oci-layout", "--to-oci-layout", layout + ":v1", filepath.Join(dir, "ro.tar")}, exitError, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "read-only destination" {
				testutil.TarDir(t, layout, filepath.Join(dir, "ro.tar"))
			}
			r := runCLI(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
		})
	}
}
