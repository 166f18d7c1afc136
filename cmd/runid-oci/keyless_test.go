package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/sigstoretest"
	"github.com/runid/runid-oci/internal/testregistry"
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
		[]string{"--trusted-root", root, "--certificate-identity", cliIdentity, "--certificate-oidc-issuer", cliIssuer, "--insecure-ignore-sct"}
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

// TestKeylessCosignVerifies: the stock cosign CLI, given the private
// Sigstore's trusted root, verifies runid-oci's keyless signatures in both
// formats, offline.
func TestKeylessCosignVerifies(t *testing.T) {
	_, sf, vf := keylessSetup(t)
	reg := testregistry.StartDistribution(t)
	st := store{name: "distribution", flags: []string{"--plain-http"}, ref: reg.Ref}
	home := t.TempDir()
	for _, bundle := range []bool{false, true} {
		format, extra, cextra := "tag", []string(nil), []string(nil)
		if bundle {
			format, extra, cextra = "bundle", []string{"--new-bundle-format"}, []string{"--new-bundle-format"}
		}
		t.Run(format, func(t *testing.T) {
			comp := pushExample(t, st, "minimal", "cosign/"+format, "v1")
			mustRun(t, 0, args("sign", append(append([]string{"--plain-http"}, sf...), extra...), reg.Ref("cosign/"+format, "v1"))...)
			cargs := append([]string{"verify", "--offline", "--allow-http-registry", "--allow-insecure-registry", "--insecure-ignore-tlog=false"}, vf...)
			cargs = append(append(cargs, cextra...), reg.Ref("cosign/"+format, comp.Digest().String()))
			out, err := testutil.Cosign(t, home, "", cargs...)
			if err != nil {
				t.Fatalf("cosign %s: %v\n%s", strings.Join(cargs, " "), err, out)
			}
			// And it refuses another identity.
			bad := append([]string{}, cargs...)
			for i := range bad {
				if bad[i] == cliIdentity {
					bad[i] = "attacker@runid.example"
				}
			}
			if out, err := testutil.Cosign(t, home, "", bad...); err == nil {
				t.Fatalf("cosign accepted another identity:\n%s", out)
			}
		})
	}
}

// TestKeylessVerifiesCosign: stock cosign signs keylessly against the
// private Sigstore (its signing config naming the in-process Fulcio and
// Rekor, the bundle format) and runid-oci verifies the signature offline.
func TestKeylessVerifiesCosign(t *testing.T) {
	ss, sf, vf := keylessSetup(t)
	reg := testregistry.StartDistribution(t)
	st := store{name: "distribution", flags: []string{"--plain-http"}, ref: reg.Ref}
	comp := pushExample(t, st, "minimal", "bycosign", "v1")
	tokenFile := sf[5]
	home := t.TempDir()
	cargs := []string{"sign", "-y", "--new-bundle-format", "--signing-config", ss.WriteSigningConfig(t, home),
		"--identity-token", tokenFile, "--allow-http-registry", "--allow-insecure-registry",
		reg.Ref("bycosign", comp.Digest().String())}
	if out, err := testutil.Cosign(t, home, "", cargs...); err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(cargs, " "), err, out)
	}
	r := mustRun(t, 0, args("verify", append([]string{"-o", "json", "--plain-http"}, vf...), reg.Ref("bycosign", "v1"))...)
	rep := decodeJSON[pull.Report](t, r.stdout)
	if !rep.Verified || rep.Signatures == nil || rep.Signatures.Verified != 1 || rep.Signatures.Signatures[0].Format != pull.SignatureFormatBundle {
		t.Fatalf("verify report %+v", rep)
	}

	// The tag format: cosign asks Fulcio's v1 API and Rekor directly; it
	// checks the log entry with the key SIGSTORE_REKOR_PUBLIC_KEY names and,
	// with --insecure-skip-verify, does not look for an SCT.
	other := pushExample(t, st, "rag-agent", "bycosign", "v2")
	t.Setenv("SIGSTORE_REKOR_PUBLIC_KEY", ss.WriteRekorPublicKey(t, home))
	cargs = []string{"sign", "-y", "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL, "--insecure-skip-verify",
		"--identity-token", tokenFile, "--allow-http-registry", "--allow-insecure-registry", reg.Ref("bycosign", other.Digest().String())}
	if out, err := testutil.Cosign(t, home, "", cargs...); err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(cargs, " "), err, out)
	}
	r = mustRun(t, 0, args("verify", append([]string{"-o", "json", "--plain-http"}, vf...), reg.Ref("bycosign", "v2"))...)
	rep = decodeJSON[pull.Report](t, r.stdout)
	if !rep.Verified || rep.Signatures == nil || rep.Signatures.Verified != 1 || rep.Signatures.Signatures[0].Format != pull.SignatureFormatTag {
		t.Fatalf("verify report %+v", rep)
	}
}
