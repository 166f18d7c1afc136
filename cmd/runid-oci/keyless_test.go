package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/sigstoretest"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
)

const (
	cliIdentity = "release@runid.example"
	cliIssuer   = "https://issuer.runid.example"
)

// keylessSetup starts a private Sigstore and writes its trusted root and an
// identity token for cliIdentity; it returns the sign and verify flags.
func keylessSetup(t *testing.T) (ss *sigstoretest.Sigstore, signFlags, verifyFlags []string) {
	t.Helper()
	ss = sigstoretest.New(t)
	dir := t.TempDir()
	token := filepath.Join(dir, "token.jwt")
	if err := os.WriteFile(token, []byte(sigstoretest.Token(cliIdentity, cliIssuer)), 0o600); err != nil {
		t.Fatal(err)
	}
	root := ss.WriteTrustedRoot(t, dir)
	return ss, []string{"--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL, "--identity-token", token},
		[]string{"--trusted-root", root, "--certificate-identity", cliIdentity, "--certificate-oidc-issuer", cliIssuer}
}

// TestKeylessSignAndVerifyCommands: "runid-oci sign" signs keylessly
// against a private Fulcio and Rekor (served in process), in both formats,
// and "runid-oci verify --trusted-root" accepts it offline (exit 0) and
// refuses another identity or issuer (exit 3, with the reason).
func TestKeylessSignAndVerifyCommands(t *testing.T) {
	_, sf, vf := keylessSetup(t)
	for _, st := range stores(t)[:2] {
		for _, bundle := range []bool{false, true} {
			format, extra := "tag", []string(nil)
			if bundle {
				format, extra = "bundle", []string{"--new-bundle-format"}
			}
			t.Run(st.name+"/"+format, func(t *testing.T) {
				repo := "keyless/" + format
				comp := pushExample(t, st, "minimal", repo, "v1")
				r := mustRun(t, 0, args("sign", append(append(append([]string{"-o", "json"}, st.flags...), sf...), extra...), st.ref(repo, "v1"))...)
				out := decodeJSON[signOutput](t, r.stdout)
				if out.Subject != comp.Digest() || out.Format != format || out.Signer != cliIdentity+" ("+cliIssuer+")" || out.KeyID != "" {
					t.Errorf("sign output %+v", out)
				}
				r = mustRun(t, 0, args("verify", append(append([]string{"-o", "json"}, st.flags...), vf...), st.ref(repo, "v1"))...)
				rep := decodeJSON[pull.Report](t, r.stdout)
				if !rep.Verified || rep.Signatures == nil || rep.Signatures.Verified != 1 {
					t.Fatalf("verify report %+v", rep)
				}
				if s := rep.Signatures.Signatures[0].Signer; s == nil || s.Identity != cliIdentity || len(s.SigningTimes) == 0 {
					t.Errorf("signer %+v", s)
				}
				r = mustRun(t, 0, args("verify", append(append([]string{}, st.flags...), vf...), st.ref(repo, "v1"))...)
				if !strings.Contains(r.stdout, "1 of 1 signature(s) verify keylessly for identity "+cliIdentity) {
					t.Errorf("text report:\n%s", r.stdout)
				}
				for _, swap := range [][2]string{{cliIdentity, "attacker@runid.example"}, {cliIssuer, "https://accounts.google.com"}} {
					bad := append([]string{}, vf...)
					for i := range bad {
						if bad[i] == swap[0] {
							bad[i] = swap[1]
						}
					}
					r = mustRun(t, exitNotVerify, args("verify", append(append([]string{}, st.flags...), bad...), st.ref(repo, "v1"))...)
					if !strings.Contains(r.stdout, "identity: ") || !strings.Contains(r.stdout, swap[1]) {
						t.Errorf("%s: text report does not give the reason:\n%s", swap[1], r.stdout)
					}
				}
			})
		}
	}
}

func TestKeylessCommandUsage(t *testing.T) {
	_, sf, vf := keylessSetup(t)
	st := stores(t)[0]
	pushExample(t, st, "minimal", "usage", "v1")
	ref := st.ref("usage", "v1")
	for _, c := range []struct {
		args []string
		want string
	}{
		{args("verify", append(append([]string{"--key", "cosign.pub"}, st.flags...), vf...), ref), "one or the other"},
		{args("verify", append([]string{"--certificate-identity", cliIdentity, "--certificate-oidc-issuer", cliIssuer}, st.flags...), ref), "--trusted-root"},
		{args("verify", append([]string{"--trusted-root", vf[1], "--certificate-identity", cliIdentity}, st.flags...), ref), "--certificate-oidc-issuer"},
		{args("verify", append([]string{"--trusted-root", vf[1], "--certificate-oidc-issuer", cliIssuer}, st.flags...), ref), "--certificate-identity"},
		{args("sign", append(append([]string{"--key", "cosign.key"}, st.flags...), sf...), ref), "one or the other"},
		{args("sign", append([]string{"--fulcio-url", "http://127.0.0.1:1"}, st.flags...), ref), "--rekor-url"},
	} {
		r := mustRun(t, exitUsage, c.args...)
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: stderr %q, want it to name %s", c.args, r.stderr, c.want)
		}
	}
	// No token file and no SIGSTORE_ID_TOKEN: could not sign (exit 1).
	t.Setenv(sign.IdentityTokenEnv, "")
	r := mustRun(t, 1, args("sign", append([]string{"--fulcio-url", "http://127.0.0.1:1", "--rekor-url", "http://127.0.0.1:1"}, st.flags...), ref)...)
	if !strings.Contains(r.stderr, sign.IdentityTokenEnv) {
		t.Errorf("stderr %q, want it to name %s", r.stderr, sign.IdentityTokenEnv)
	}
	// A trusted root that is not one: could not verify (exit 1).
	bad := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(bad, []byte(`{"mediaType": "nope"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, 1, args("verify", append([]string{"--trusted-root", bad, "--certificate-identity", cliIdentity, "--certificate-oidc-issuer", cliIssuer}, st.flags...), ref)...)
	if !strings.Contains(r.stderr, "trusted root") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// TestKeylessTokenFromEnvironment: without --identity-token the token
// comes from SIGSTORE_ID_TOKEN, as cosign reads it.
func TestKeylessTokenFromEnvironment(t *testing.T) {
	ss, _, vf := keylessSetup(t)
	st := stores(t)[0]
	pushExample(t, st, "minimal", "env", "v1")
	t.Setenv(sign.IdentityTokenEnv, sigstoretest.Token(cliIdentity, cliIssuer))
	mustRun(t, 0, args("sign", append([]string{"--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL}, st.flags...), st.ref("env", "v1"))...)
	mustRun(t, 0, args("verify", append(append([]string{}, st.flags...), vf...), st.ref("env", "v1"))...)
}

// registryStores are the in-process registries of stores: Distribution
// (no referrers API) and go-containerregistry (with it).
func registryStores(t *testing.T) []store {
	t.Helper()
	var out []store
	for _, st := range stores(t) {
		if st.name != "oci-layout" {
			out = append(out, st)
		}
	}
	return out
}

// TestKeylessCosignVerifies: the stock cosign CLIs, v2 and v3, given the
// private Sigstore's trusted root, verify runid-oci's keyless signatures in
// both formats, offline, with the SCT checked, on registries with and
// without the referrers API; and refuse another identity.
func TestKeylessCosignVerifies(t *testing.T) {
	_, sf, vf := keylessSetup(t)
	home := t.TempDir()
	for _, st := range registryStores(t) {
		for _, format := range []string{"tag", "bundle"} {
			t.Run(st.name+"/"+format, func(t *testing.T) {
				var extra []string
				if format == "bundle" {
					extra = []string{"--new-bundle-format"}
				}
				repo := "cosign/" + format
				comp := pushExample(t, st, "minimal", repo, "v1")
				mustRun(t, 0, args("sign", append(append(append([]string{}, st.flags...), sf...), extra...), st.ref(repo, "v1"))...)
				for _, cv := range keylessCosigns {
					cargs := append([]string{"verify", "--allow-http-registry", "--allow-insecure-registry", "--insecure-ignore-tlog=false"}, vf...)
					cargs = append(append(cargs, cv.formats[format]...), st.ref(repo, comp.Digest().String()))
					out, err := testutil.RunCosign(t, cv.bin(t), home, "", cargs...)
					if err != nil {
						t.Errorf("%s %s: %v\n%s", cv.name, strings.Join(cargs, " "), err, out)
						continue
					}
					if out, err := testutil.RunCosign(t, cv.bin(t), home, "", swapArg(cargs, cliIdentity, "attacker@runid.example")...); err == nil {
						t.Errorf("%s accepted another identity:\n%s", cv.name, out)
					}
				}
			})
		}
	}
}

// TestKeylessVerifiesCosign: stock cosign v2 and v3 sign keylessly against
// the private Sigstore, offline, in both formats, on registries with and
// without the referrers API, and runid-oci verifies the signatures with the
// trusted root (the SCT checked):
//
//   - bundle format: "cosign sign --signing-config" (the in-process Fulcio
//     and Rekor), through sigstore-go; v3 also takes --trusted-root;
//   - tag format: "cosign sign --fulcio-url --rekor-url" (v3: with
//     --use-signing-config=false --new-bundle-format=false), Fulcio's v1
//     API; cosign checks the log entry with the key SIGSTORE_REKOR_PUBLIC_KEY
//     names; v2 needs --insecure-skip-verify or SIGSTORE_CT_LOG_PUBLIC_KEY_FILE
//     to check the SCT.
func TestKeylessVerifiesCosign(t *testing.T) {
	vf, tokenFile, home, signArgs := cosignKeylessSetup(t)
	for _, st := range registryStores(t) {
		for _, cv := range keylessCosigns {
			for _, format := range []string{"tag", "bundle"} {
				t.Run(st.name+"/"+cv.name+"/"+format, func(t *testing.T) {
					repo := "bycosign/" + cv.name + "/" + format
					comp := pushExample(t, st, "minimal", repo, "v1")
					cargs := append(append([]string{"sign", "-y", "--identity-token", tokenFile, "--allow-http-registry", "--allow-insecure-registry"},
						signArgs[cv.name][format]...), st.ref(repo, comp.Digest().String()))
					if out, err := testutil.RunCosign(t, cv.bin(t), home, "", cargs...); err != nil {
						t.Fatalf("%s %s: %v\n%s", cv.name, strings.Join(cargs, " "), err, out)
					}
					r := mustRun(t, 0, args("verify", append(append([]string{"-o", "json"}, st.flags...), vf...), st.ref(repo, "v1"))...)
					rep := decodeJSON[pull.Report](t, r.stdout)
					if !rep.Verified || rep.Signatures == nil || rep.Signatures.Verified != 1 || rep.Signatures.Signatures[0].Format != format {
						t.Fatalf("verify report %+v", rep)
					}
				})
			}
		}
	}
}

// cosignKeylessSetup starts the in-process Sigstore for stock cosign to sign
// against, offline: it returns runid-oci's verify flags, the identity token
// file, cosign's home, and the flags each cosign version (keylessCosigns)
// signs with in each format, "bundle" (a signing config) and "tag" (Fulcio
// and Rekor URLs). The Rekor and CT log keys are set in the environment, as
// cosign reads them.
func cosignKeylessSetup(t *testing.T) (verifyFlags []string, tokenFile, home string, formatArgs map[string]map[string][]string) {
	t.Helper()
	ss, sf, vf := keylessSetup(t)
	home = t.TempDir()
	signingConfig, trustedRoot := ss.WriteSigningConfig(t, home), vf[1]
	t.Setenv("SIGSTORE_REKOR_PUBLIC_KEY", ss.WriteRekorPublicKey(t, home))
	t.Setenv("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", ss.WriteCTLogPublicKey(t, home))
	return vf, sf[5], home, map[string]map[string][]string{
		"cosign-v2": {
			"bundle": {"--new-bundle-format", "--signing-config", signingConfig},
			"tag":    {"--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL},
		},
		"cosign-v3": {
			"bundle": {"--signing-config", signingConfig, "--trusted-root", trustedRoot},
			"tag":    {"--use-signing-config=false", "--new-bundle-format=false", "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL, "--trusted-root", trustedRoot},
		},
	}
}
