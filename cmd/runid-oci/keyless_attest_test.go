package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// keylessCosigns are the stock cosign CLIs checked against runid-oci's
// keyless attestations, with the flags each needs per storage format
// ("tag", "bundle"). cosign v2.6.5's verify-attestation takes
// --trusted-root only with --new-bundle-format; for the tag format it is
// given the same trust the old way: the Fulcio CA (--ca-roots,
// --ca-intermediates), the Rekor key (SIGSTORE_REKOR_PUBLIC_KEY) and the CT
// log key (SIGSTORE_CT_LOG_PUBLIC_KEY_FILE).
var keylessCosigns = []struct {
	name        string
	bin         func(testing.TB) string
	formats     map[string][]string
	legacyTrust map[string]bool
}{
	{"cosign-v2", clitools.Cosign, map[string][]string{"tag": nil, "bundle": {"--new-bundle-format"}}, map[string]bool{"tag": true}},
	{"cosign-v3", clitools.Cosign3, map[string][]string{"tag": {"--new-bundle-format=false"}, "bundle": {"--new-bundle-format=true"}}, nil},
}

// TestKeylessAttestCommands: "runid-oci attest" signs keylessly against
// the private Sigstore, in both storage formats, in a layout and on
// registries without (Distribution) and with (go-containerregistry) the
// referrers API; "runid-oci verify --attestation --trusted-root ..."
// accepts it (exit 0) and refuses another identity (exit 3, the reason on
// stdout); stock cosign v2 and v3 "verify-attestation --offline
// --trusted-root --certificate-identity ... --type URI" accept it and
// refuse another identity.
func TestKeylessAttestCommands(t *testing.T) {
	ss, sf, vf := keylessSetup(t)
	home := t.TempDir()
	caRoots, caInter := ss.WriteFulcioCAs(t, home)
	t.Setenv("SIGSTORE_REKOR_PUBLIC_KEY", ss.WriteRekorPublicKey(t, home))
	t.Setenv("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", ss.WriteCTLogPublicKey(t, home))
	for _, st := range stores(t) {
		for _, format := range []string{"tag", "bundle"} {
			t.Run(st.name+"/"+format, func(t *testing.T) {
				repo := "keylessatt/" + format
				comp := pushExample(t, st, "minimal", repo, "run")
				art := pushExample(t, st, "rag-agent", repo, "artifact") // stands for what the run produced
				artifact := st.ref(repo, "artifact")
				flags := append(append([]string{"-o", "json", "--identity", st.ref(repo, "run")}, st.flags...), sf...)
				if format == "bundle" {
					flags = append(flags, "--new-bundle-format")
				}
				out := decodeJSON[attestOutput](t, mustRun(t, 0, args("attest", flags, artifact)...).stdout)
				if out.Signer != cliIdentity+" ("+cliIssuer+")" || out.KeyID != "" || out.Format != format || out.Identity.Digest != comp.Digest() {
					t.Errorf("attest output %+v", out)
				}

				r := mustRun(t, 0, args("verify", append(append([]string{"-o", "json", "--attestation"}, st.flags...), vf...), artifact)...)
				rep := decodeJSON[sigverify.AttestationReport](t, r.stdout)
				if rep.Verified != 1 || rep.Keyless == "" || len(rep.Attestations) != 1 || rep.Attestations[0].Signer == nil ||
					rep.Attestations[0].Signer.Identity != cliIdentity || len(rep.Runs) != 1 || !rep.Runs[0].Verified {
					t.Errorf("verify report %+v", rep)
				}
				text := mustRun(t, 0, args("verify", append(append([]string{"--attestation"}, st.flags...), vf...), artifact)...).stdout
				if !strings.Contains(text, "1 of 1 run attestation(s) verify keylessly for identity "+cliIdentity) {
					t.Errorf("text report:\n%s", text)
				}
				bad := swapArg(vf, cliIdentity, "attacker@runid.example")
				r = mustRun(t, exitNotVerify, args("verify", append(append([]string{"--attestation"}, st.flags...), bad...), artifact)...)
				if !strings.Contains(r.stdout, "identity: ") || !strings.Contains(r.stdout, "attacker@runid.example") {
					t.Errorf("another identity: stdout does not give the reason:\n%s", r.stdout)
				}

				if st.name == "oci-layout" {
					return // cosign reads registries
				}
				for _, cv := range keylessCosigns {
					trust := vf
					if cv.legacyTrust[format] {
						trust = append([]string{"--ca-roots", caRoots, "--ca-intermediates", caInter}, vf[2:]...)
					}
					cargs := append([]string{"verify-attestation", "--offline", "--allow-http-registry", "--allow-insecure-registry",
						"--type", spec.RunPredicateType}, trust...)
					cargs = append(append(cargs, cv.formats[format]...), st.ref(repo, art.Digest().String()))
					out, err := testutil.RunCosign(t, cv.bin(t), home, "", cargs...)
					if err != nil {
						t.Errorf("%s %s: %v\n%s", cv.name, strings.Join(cargs, " "), err, out)
						continue
					}
					if !strings.Contains(out, `"payloadType":"application/vnd.in-toto+json"`) {
						t.Errorf("%s printed no attestation:\n%s", cv.name, out)
					}
					if out, err := testutil.RunCosign(t, cv.bin(t), home, "", swapArg(cargs, cliIdentity, "attacker@runid.example")...); err == nil {
						t.Errorf("%s accepted another identity:\n%s", cv.name, out)
					}
				}
			})
		}
	}
}

// swapArg returns a copy of args with every from replaced by to.
func swapArg(args []string, from, to string) []string {
	out := append([]string{}, args...)
	for i := range out {
		if out[i] == from {
			out[i] = to
		}
	}
	return out
}

func TestKeylessAttestCommandUsage(t *testing.T) {
	_, sf, vf := keylessSetup(t)
	st := stores(t)[0]
	pushExample(t, st, "minimal", "usage", "v1")
	ref := st.ref("usage", "v1")
	for _, c := range []struct {
		args []string
		want string
	}{
		{args("attest", append(append([]string{"--identity", ref, "--key", "cosign.key"}, st.flags...), sf...), ref), "one or the other"},
		{args("attest", append([]string{"--identity", ref, "--fulcio-url", "http://127.0.0.1:1"}, st.flags...), ref), "--rekor-url"},
		{args("verify", append(append([]string{"--attestation", "--key", "cosign.pub"}, st.flags...), vf...), ref), "one or the other"},
		{args("verify", append([]string{"--attestation", "--certificate-identity", cliIdentity, "--certificate-oidc-issuer", cliIssuer}, st.flags...), ref), "--trusted-root"},
	} {
		r := mustRun(t, exitUsage, c.args...)
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: stderr %q, want it to name %s", c.args, r.stderr, c.want)
		}
	}
}

// TestKeylessVerifiesCosignAttest: stock cosign v2 and v3 attest keylessly
// against the private Sigstore (a run predicate that "runid-oci export
// --format intoto" printed), in both formats, on both registry kinds; and
// "runid-oci verify --attestation --trusted-root ..." accepts it, naming
// the signer, with the SCT checked. (cosign v2.6.5's bundle-format
// attestation made with --signing-config carries the signature predicate
// type in its dev.sigstore.bundle.predicateType annotation; the statement
// inside decides.)
func TestKeylessVerifiesCosignAttest(t *testing.T) {
	vf, tokenFile, home, attestArgs := cosignKeylessSetup(t)
	for _, st := range registryStores(t) {
		for _, cv := range keylessCosigns {
			for _, format := range []string{"tag", "bundle"} {
				t.Run(st.name+"/"+cv.name+"/"+format, func(t *testing.T) {
					repo := "cosignatt/" + cv.name + "/" + format
					pushExample(t, st, "minimal", repo, "run")
					art := pushExample(t, st, "rag-agent", repo, "artifact")
					stmt := mustRun(t, 0, args("export", st.flags, st.ref(repo, "run"), "--format", "intoto", "--subject", st.ref(repo, "artifact"))...).stdout
					var doc struct {
						Predicate json.RawMessage `json:"predicate"`
					}
					if err := json.Unmarshal([]byte(stmt), &doc); err != nil || len(doc.Predicate) == 0 {
						t.Fatalf("export --format intoto: %v\n%s", err, stmt)
					}
					dir := t.TempDir()
					pred := filepath.Join(dir, "predicate.json")
					if err := os.WriteFile(pred, doc.Predicate, 0o644); err != nil {
						t.Fatal(err)
					}
					cargs := append(append([]string{"attest", "-y", "--identity-token", tokenFile, "--allow-http-registry", "--allow-insecure-registry",
						"--type", spec.RunPredicateType, "--predicate", pred}, attestArgs[cv.name][format]...), st.ref(repo, art.Digest().String()))
					if out, err := testutil.RunCosign(t, cv.bin(t), home, "", cargs...); err != nil {
						t.Fatalf("%s %s: %v\n%s", cv.name, strings.Join(cargs, " "), err, out)
					}
					r := mustRun(t, 0, args("verify", append(append([]string{"-o", "json", "--attestation"}, st.flags...), vf...), st.ref(repo, "artifact"))...)
					rep := decodeJSON[sigverify.AttestationReport](t, r.stdout)
					if rep.Verified != 1 || len(rep.Attestations) != 1 || rep.Attestations[0].Format != format ||
						rep.Attestations[0].Signer == nil || rep.Attestations[0].Signer.Identity != cliIdentity {
						t.Errorf("verify report %+v", rep)
					}
				})
			}
		}
	}
}
