package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/cosignsig"
	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pull"
)

const cliKeyPassword = "cli-test-password"

// newCLIKey makes a key pair with "runid-oci key generate" in a fresh
// directory and returns the paths of the private and public keys. It sets
// COSIGN_PASSWORD for the rest of the test.
func newCLIKey(t *testing.T) (priv, pub string) {
	t.Helper()
	t.Setenv(cosignsig.PasswordEnv, cliKeyPassword)
	prefix := filepath.Join(t.TempDir(), "cosign")
	mustRun(t, 0, "key", "generate", "--output-key-prefix", prefix)
	return prefix + ".key", prefix + ".pub"
}

func TestSignCommand(t *testing.T) {
	priv, pubFile := newCLIKey(t)
	pub, err := pull.LoadPublicKeyFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stores(t) {
		for _, bundle := range []bool{false, true} {
			name, format, extra := st.name+"/tag", "tag", []string(nil)
			if bundle {
				name, format, extra = st.name+"/bundle", "bundle", []string{"--new-bundle-format"}
			}
			t.Run(name, func(t *testing.T) {
				repo := "sign/" + format
				comp := pushExample(t, st, "minimal", repo, "v1")
				r := mustRun(t, 0, args("sign", append(append([]string{}, st.flags...), extra...), "-o", "json", "--key", priv, st.ref(repo, "v1"))...)
				out := decodeJSON[signOutput](t, r.stdout)
				if out.Subject != comp.Digest() || out.Format != format || out.Signatures != 1 || out.KeyID == "" {
					t.Errorf("output %+v", out)
				}
				if bundle != (out.Tag == "") {
					t.Errorf("tag %q for format %s", out.Tag, format)
				}
				subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: comp.Digest(), Size: int64(len(comp.Identity.ManifestBytes))}
				rep, err := pull.VerifySignatures(t.Context(), st.open(t, repo), subject, pub, pull.SignatureOptions{})
				if err != nil || rep.Verified != 1 || rep.Signatures[0].Manifest != out.Signature {
					t.Fatalf("verify: %v %+v", err, rep)
				}
				if st.name != "oci-layout" || bundle {
					return
				}
				// Text output names the subject and the key.
				r = mustRun(t, 0, args("sign", append(append([]string{}, st.flags...), extra...), "--key", priv, st.ref(repo, comp.Digest().String()))...)
				if !strings.Contains(r.stdout, comp.Digest().String()) || !strings.Contains(r.stdout, out.KeyID) {
					t.Errorf("text output: %s", r.stdout)
				}
			})
		}
	}
}

func TestSignCommandErrors(t *testing.T) {
	priv, _ := newCLIKey(t)
	st := stores(t)[0]
	pushExample(t, st, "minimal", "errs", "v1")
	target := st.ref("errs", "v1")
	for _, tc := range []struct {
		name   string
		env    *string // COSIGN_PASSWORD, nil to unset
		args   []string
		code   int
		stderr string
	}{
		{"no key", ptr(cliKeyPassword), []string{"sign", "--oci-layout", target}, exitUsage, "--key is required"},
		{"no reference", ptr(cliKeyPassword), []string{"sign", "--oci-layout", "--key", priv, st.ref("errs", "")}, exitUsage, "names no tag or digest"},
		{"missing key file", ptr(cliKeyPassword), []string{"sign", "--oci-layout", "--key", priv + ".missing", target}, exitError, "invalid key"},
		{"wrong password", ptr("not the password"), []string{"sign", "--oci-layout", "--key", priv, target}, exitError, "wrong key password"},
		{"no password and no terminal", nil, []string{"sign", "--oci-layout", "--key", priv, target}, exitError, "COSIGN_PASSWORD"},
		{"missing tag", ptr(cliKeyPassword), []string{"sign", "--oci-layout", "--key", priv, st.ref("errs", "nope")}, exitError, "cannot sign"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env == nil {
				t.Setenv(cosignsig.PasswordEnv, "")
				os.Unsetenv(cosignsig.PasswordEnv)
			} else {
				t.Setenv(cosignsig.PasswordEnv, *tc.env)
			}
			r := runCLI(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestSignCommandCosignVerifies: the stock cosign CLI verifies what
// "runid-oci sign" wrote with a key from "runid-oci key generate", and
// cosign itself can sign with that key.
func TestSignCommandCosignVerifies(t *testing.T) {
	priv, pub := newCLIKey(t)
	reg := testregistry.StartDistribution(t)
	st := store{name: "distribution", flags: []string{"--plain-http"}, ref: reg.Ref}
	comp := pushExample(t, st, "minimal", "runs/cosign", "v1")
	mustRun(t, 0, "sign", "--plain-http", "--key", priv, reg.Ref("runs/cosign", "v1"))

	home := t.TempDir()
	cosign := func(args ...string) (string, error) {
		cmd := exec.CommandContext(t.Context(), clitools.Cosign(t), args...)
		cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, ".sigstore"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	ref := reg.Ref("runs/cosign", comp.Digest().String())
	if out, err := cosign("verify", "--key", pub, "--insecure-ignore-tlog", "--allow-http-registry", "--allow-insecure-registry", ref); err != nil {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
	// cosign signs with runid-oci's key too; both signatures are then in
	// the tag and verify.
	other := pushExample(t, st, "rag-agent", "runs/cosign", "v2")
	otherRef := reg.Ref("runs/cosign", other.Digest().String())
	if out, err := cosign("sign", "--key", priv, "--tlog-upload=false", "-y", "--allow-http-registry", "--allow-insecure-registry", otherRef); err != nil {
		t.Fatalf("cosign sign with a runid-oci key: %v\n%s", err, out)
	}
	pubKey, err := pull.LoadPublicKeyFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	repo := testregistry.Repository(t, reg, "runs/cosign")
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: other.Digest(), Size: int64(len(other.Identity.ManifestBytes))}
	if _, err := pull.VerifySignatures(t.Context(), repo, subject, pubKey, pull.SignatureOptions{}); err != nil {
		t.Errorf("runid-oci does not verify cosign's signature: %v", err)
	}
}
