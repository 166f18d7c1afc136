package sigverify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// cosignVersions are the stock cosign CLIs the attestations are checked
// against, with the flags each needs to work offline with a key.
var cosignVersions = []struct {
	name string
	bin  func(testing.TB) string
	// attest and verify are extra flags of "attest" and
	// "verify-attestation", by storage format.
	attest, verify map[sign.SignatureFormat][]string
}{
	{name: "cosign-v2", bin: clitools.Cosign,
		attest: map[sign.SignatureFormat][]string{sign.SignatureFormatBundle: {"--new-bundle-format"}},
		verify: map[sign.SignatureFormat][]string{sign.SignatureFormatBundle: {"--new-bundle-format", "--trusted-root", "trusted_root.json"}}},
	{name: "cosign-v3", bin: clitools.Cosign3,
		attest: map[sign.SignatureFormat][]string{
			sign.SignatureFormatTag:    {"--new-bundle-format=false", "--use-signing-config=false"},
			sign.SignatureFormatBundle: {"--new-bundle-format=true", "--use-signing-config=false"}},
		verify: map[sign.SignatureFormat][]string{
			sign.SignatureFormatTag:    {"--new-bundle-format=false"},
			sign.SignatureFormatBundle: {"--new-bundle-format=true", "--trusted-root", "trusted_root.json"}}},
}

// TestAttestationsInteropCosign: stock cosign v2 and v3 verify-attestation
// accept runid-oci's attestations of both predicate types, in both storage
// formats, on registries with and without the referrers API, and oras
// discover lists them; runid-oci accepts what cosign attest writes for the
// run predicate.
func TestAttestationsInteropCosign(t *testing.T) {
	orasBin := clitools.Oras(t)
	for _, cv := range cosignVersions {
		t.Run(cv.name, func(t *testing.T) {
			bin := cv.bin(t)
			dir := t.TempDir()
			if out, err := testutil.RunCosign(t, bin, dir, "test-password", "generate-key-pair"); err != nil {
				t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
			}
			// An empty trusted root: a key needs no transparency log or
			// certificate authority, but cosign wants a root for bundles.
			if err := os.WriteFile(filepath.Join(dir, "trusted_root.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			sv, err := sign.LoadPrivateKey(testutil.ReadFile(t, filepath.Join(dir, "cosign.key")), []byte("test-password"))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := sigverify.LoadPublicKeyFile(filepath.Join(dir, "cosign.pub"))
			if err != nil {
				t.Fatal(err)
			}
			for _, reg := range registries {
				for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
					t.Run(reg.Name+"/"+string(format), func(t *testing.T) {
						r := testregistry.Serve(t, reg.Handler(t))
						repo := testregistry.Repository(t, r, repoName)
						id := pushIdentity(t, repo, "minimal")
						cosign := func(args ...string) string {
							t.Helper()
							args = append(args, cosignRegistryFlags...)
							out, err := testutil.RunCosign(t, bin, dir, "test-password", args...)
							if err != nil {
								t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
							}
							return out
						}

						// runid-oci attests, cosign verifies.
						artifact := pushArtifact(t, repo, "# report of "+cv.name+"\n")
						ref := r.Ref(repoName, artifact.Digest.String())
						var made []string
						for _, kind := range []string{attest.PredicateRun, attest.PredicateSLSA} {
							res := attestRun(t, repo, artifact, id.Digest.String(), sv, kind, format)
							made = append(made, res.Attestation.Digest.String())
							args := append([]string{"verify-attestation", "--key", "cosign.pub", "--insecure-ignore-tlog=true", "--type", res.PredicateType}, cv.verify[format]...)
							out := cosign(append(args, ref)...)
							if !strings.Contains(out, `"payloadType":"application/vnd.in-toto+json"`) {
								t.Errorf("cosign verify-attestation --type %s printed no attestation:\n%s", res.PredicateType, out)
							}
						}
						// oras discover shows them (the .att manifest has a subject).
						out, err := clitools.Command(t, orasBin, "discover", "--plain-http", "--format", "json", ref).CombinedOutput()
						if err != nil {
							t.Fatalf("oras discover: %v\n%s", err, out)
						}
						for _, d := range made {
							if format == sign.SignatureFormatTag {
								d = made[len(made)-1] // the .att manifest holds both
							}
							if !strings.Contains(string(out), d) {
								t.Errorf("oras discover does not show %s:\n%s", d, out)
							}
						}

						// cosign attests the run predicate, runid-oci verifies.
						artifact = pushArtifact(t, repo, "# another report of "+cv.name+"\n")
						ref = r.Ref(repoName, artifact.Digest.String())
						p, err := spec.BuildRunPredicate(readSpecIdentity(t, repo, id.Digest.String()), r.Host+"/"+repoName, nil)
						if err != nil {
							t.Fatal(err)
						}
						pb, err := spec.MarshalCanonical(p)
						if err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(filepath.Join(dir, "predicate.json"), pb, 0o644); err != nil {
							t.Fatal(err)
						}
						args := append([]string{"attest", "--key", "cosign.key", "--predicate", "predicate.json", "--type", spec.RunPredicateType,
							"--tlog-upload=false", "-y"}, cv.attest[format]...)
						cosign(append(args, ref)...)
						rep, err := sigverify.VerifyAttestations(t.Context(), repo, artifact.Digest.String(), pub, sigverify.AttestationOptions{})
						if err != nil {
							t.Fatalf("runid-oci does not accept cosign's attestation: %v", err)
						}
						wantFormat := pull.SignatureFormatTag
						if format == sign.SignatureFormatBundle {
							wantFormat = pull.SignatureFormatBundle
						}
						if rep.Verified != 1 || rep.Attestations[0].Format != wantFormat || rep.Attestations[0].Identity.Digest != id.Digest {
							t.Errorf("report %+v", rep)
						}
					})
				}
			}
		})
	}
}
