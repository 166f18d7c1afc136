package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

const cliKeyPassword = "cli-test-password"

// cliKey returns the key pair named name, made once per test binary with
// "runid-oci key generate" into TestMain's directory, and sets
// COSIGN_PASSWORD for the rest of the test. Tests share the files and never
// change them: each generation derives its encryption key with scrypt, about
// 1 s of CPU (8 s under the race detector), and "key generate" itself is
// tested in key_test.go.
func cliKey(t *testing.T, name string) (priv, pub string) {
	t.Helper()
	t.Setenv(sign.PasswordEnv, cliKeyPassword)
	cliKeys.Lock()
	defer cliKeys.Unlock()
	prefix := filepath.Join(testDir, "key-"+name)
	if !cliKeys.made[name] {
		mustRun(t, 0, "key", "generate", "--output-key-prefix", prefix)
		cliKeys.made[name] = true
	}
	return prefix + ".key", prefix + ".pub"
}

// cliKeys records which named key pairs cliKey has made.
var cliKeys = struct {
	sync.Mutex
	made map[string]bool
}{made: map[string]bool{}}

// newCLIKey is the key pair most tests sign with.
func newCLIKey(t *testing.T) (priv, pub string) {
	t.Helper()
	return cliKey(t, "signer")
}

func TestSignCommand(t *testing.T) {
	priv, pubFile := newCLIKey(t)
	pub, err := sigverify.LoadPublicKeyFile(pubFile)
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
				rep, err := sigverify.VerifySignatures(t.Context(), st.open(t, repo), subject, pub, sigverify.Options{})
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
				t.Setenv(sign.PasswordEnv, "")
				os.Unsetenv(sign.PasswordEnv)
			} else {
				t.Setenv(sign.PasswordEnv, *tc.env)
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
	cosign := func(args ...string) (string, error) { return testutil.Cosign(t, home, cliKeyPassword, args...) }
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
	pubKey, err := sigverify.LoadPublicKeyFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	repo := testregistry.Repository(t, reg, "runs/cosign")
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: other.Digest(), Size: int64(len(other.Identity.ManifestBytes))}
	if _, err := sigverify.VerifySignatures(t.Context(), repo, subject, pubKey, sigverify.Options{}); err != nil {
		t.Errorf("runid-oci does not verify cosign's signature: %v", err)
	}
}

// TestPushSignAndVerifyKey: push --sign --key signs in the same step, and
// verify --key checks the signature after the content (exit 0), failing
// with exit 3 and the reason for another's key, an unsigned identity and a
// moved signature, on a layout, both registries and a layout tar.
func TestPushSignAndVerifyKey(t *testing.T) {
	priv, pub := newCLIKey(t)
	_, otherPub := cliKey(t, "other")
	t.Setenv(sign.PasswordEnv, cliKeyPassword)
	for _, st := range stores(t) {
		for _, bundle := range []bool{false, true} {
			format, extra := "tag", []string{"--sign", "--key", priv}
			if bundle {
				format, extra = "bundle", append(extra, "--new-bundle-format")
			}
			t.Run(st.name+"/"+format, func(t *testing.T) {
				repo := "pushsign/" + format
				r := mustRun(t, 0, args("push", append(append([]string{"-o", "json"}, st.flags...), extra...), st.ref(repo, "v1"), exampleDecl("rag-agent"))...)
				out := decodeJSON[pushResult](t, r.stdout)
				if out.Signature == nil || out.Signature.Subject != out.Digest || out.Signature.Format != format {
					t.Fatalf("push output %+v", out)
				}
				r = mustRun(t, 0, args("verify", append([]string{"-o", "json"}, st.flags...), "--key", pub, st.ref(repo, "v1"))...)
				rep := decodeJSON[pull.Report](t, r.stdout)
				if !rep.Verified || rep.Signatures == nil || rep.Signatures.Verified != 1 || rep.Signatures.Signatures[0].Format != format {
					t.Errorf("verify report %+v", rep)
				}
				r = mustRun(t, 0, args("verify", st.flags, "--key", pub, st.ref(repo, "v1"))...)
				if !strings.Contains(r.stdout, "Signatures: 1 of 1 signature(s) verify with key") {
					t.Errorf("text report:\n%s", r.stdout)
				}
				r = mustRun(t, exitNotVerify, args("verify", st.flags, "--key", otherPub, st.ref(repo, "v1"))...)
				if !strings.Contains(r.stdout, sign.ErrBadSignature.Error()) {
					t.Errorf("another's key: stdout\n%s", r.stdout)
				}
				// An identity pushed without --sign does not verify with --key.
				mustRun(t, 0, args("push", st.flags, st.ref(repo, "unsigned"), exampleDecl("minimal"))...)
				r = mustRun(t, exitNotVerify, args("verify", st.flags, "--key", pub, st.ref(repo, "unsigned"))...)
				if !strings.Contains(r.stdout, "no signatures found") {
					t.Errorf("unsigned: stdout\n%s", r.stdout)
				}
			})
		}
	}
}

// TestVerifyKeyMovedSignature: a signature moved onto another identity
// does not verify (exit 3, the claim named).
func TestVerifyKeyMovedSignature(t *testing.T) {
	priv, pub := newCLIKey(t)
	layout := filepath.Join(t.TempDir(), "runs")
	r := mustRun(t, 0, "push", "--oci-layout", "-o", "json", "--sign", "--key", priv, layout+":signed", exampleDecl("rag-agent"))
	signed := decodeJSON[pushResult](t, r.stdout)
	r = mustRun(t, 0, "push", "--oci-layout", "-o", "json", layout+":victim", exampleDecl("minimal"))
	victim := decodeJSON[pushResult](t, r.stdout)
	store, err := oci.NewWithContext(t.Context(), layout)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := store.Resolve(t.Context(), signed.Signature.Tag)
	if err != nil {
		t.Fatal(err)
	}
	victimTag, _ := spec.SignatureTag(victim.Digest)
	if err := store.Tag(t.Context(), sig, victimTag); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, exitNotVerify, "verify", "--oci-layout", "--key", pub, layout+":victim")
	if !strings.Contains(r.stdout, sign.ErrClaimMismatch.Error()) || !strings.Contains(r.stdout, signed.Digest.String()) {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	mustRun(t, 0, "verify", "--oci-layout", "--key", pub, layout+":signed")
}

// TestVerifyKeyLayoutTarOffline: sign in an OCI layout, export it as a tar,
// verify the tar with the public key alone.
func TestVerifyKeyLayoutTarOffline(t *testing.T) {
	priv, pub := newCLIKey(t)
	dir := t.TempDir()
	layout := filepath.Join(dir, "runs")
	mustRun(t, 0, "push", "--oci-layout", "--sign", "--key", priv, layout+":v1", exampleDecl("local-weights"))
	mustRun(t, 0, "sign", "--oci-layout", "--key", priv, "--new-bundle-format", layout+":v1")
	tarFile := filepath.Join(dir, "runs.tar")
	testutil.TarDir(t, layout, tarFile)
	r := mustRun(t, 0, "verify", "--oci-layout", "-o", "json", "--key", pub, tarFile+":v1")
	rep := decodeJSON[pull.Report](t, r.stdout)
	if rep.Signatures == nil || rep.Signatures.Verified != 2 {
		t.Errorf("signatures in the tar: %+v", rep.Signatures)
	}
}

// TestVerifyKeyChainCommand: attach --sign signs an output record, and
// verify OUTPUT --key --identity-key follows it to its identity and reports
// the chain.
func TestVerifyKeyChainCommand(t *testing.T) {
	producerKey, producerPub := cliKey(t, "producer")
	declarerKey, declarerPub := newCLIKey(t)
	dir := t.TempDir()
	layout := filepath.Join(dir, "runs")
	r := mustRun(t, 0, "push", "--oci-layout", "-o", "json", "--sign", "--key", declarerKey, layout+":v1", exampleDecl("minimal"))
	identity := decodeJSON[pushResult](t, r.stdout)
	outFile := filepath.Join(dir, "answer.txt")
	if err := os.WriteFile(outFile, []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// attach --sign signs the record in the same step.
	r = mustRun(t, 0, "attach", "--oci-layout", "-o", "json", "--sign", "--key", producerKey, layout+":v1", outFile, "--status", "succeeded")
	rec := decodeJSON[attachResult](t, r.stdout)
	if rec.Signature == nil || rec.Signature.Subject != rec.Digest || rec.Subject.Digest != identity.Digest {
		t.Fatalf("attach output %+v", rec)
	}
	recRef := layout + "@" + rec.Digest.String()

	r = mustRun(t, 0, "verify", "--oci-layout", "-o", "json", "--key", producerPub, "--identity-key", declarerPub, recRef)
	rep := decodeJSON[pull.Report](t, r.stdout)
	if len(rep.Chain) != 2 || rep.Chain[0].Kind != pull.ChainOutputRecord || rep.Chain[1].Digest != identity.Digest || !rep.Chain[1].Verified {
		t.Errorf("chain %+v", rep.Chain)
	}
	r = mustRun(t, 0, "verify", "--oci-layout", "--key", producerPub, "--identity-key", declarerPub, recRef)
	if !strings.Contains(r.stdout, "Chain:") || !strings.Contains(r.stdout, identity.Digest.String()) {
		t.Errorf("text:\n%s", r.stdout)
	}
	// The identity was signed with another key than the record's.
	r = mustRun(t, exitNotVerify, "verify", "--oci-layout", "--key", producerPub, recRef)
	if !strings.Contains(r.stdout, "identity") || !strings.Contains(r.stdout, "DOES NOT VERIFY") {
		t.Errorf("text:\n%s", r.stdout)
	}
	// A missing key file could not be checked: exit 1.
	mustRun(t, exitError, "verify", "--oci-layout", "--key", filepath.Join(dir, "missing.pub"), recRef)
}

// TestVerifyKeyCosignSignatures: runid-oci verify --key accepts signatures
// made by "cosign sign --key --tlog-upload=false", in the tag format and
// with --new-bundle-format.
func TestVerifyKeyCosignSignatures(t *testing.T) {
	priv, pub := newCLIKey(t)
	home := t.TempDir()
	for _, bundle := range []bool{false, true} {
		name := "tag-format"
		if bundle {
			name = "new-bundle-format"
		}
		t.Run(name, func(t *testing.T) {
			reg := testregistry.StartGGCR(t)
			st := store{name: "ggcr", flags: []string{"--plain-http"}, ref: reg.Ref}
			comp := pushExample(t, st, "minimal", "runs/cosigned", "v1")
			cargs := []string{"sign", "--key", priv, "--tlog-upload=false", "-y", "--allow-http-registry", "--allow-insecure-registry"}
			if bundle {
				cargs = append(cargs, "--new-bundle-format")
			}
			if out, err := testutil.Cosign(t, home, cliKeyPassword, append(cargs, reg.Ref("runs/cosigned", comp.Digest().String()))...); err != nil {
				t.Fatalf("cosign sign: %v\n%s", err, out)
			}
			r := mustRun(t, 0, "verify", "--plain-http", "-o", "json", "--key", pub, reg.Ref("runs/cosigned", "v1"))
			rep := decodeJSON[pull.Report](t, r.stdout)
			want := pull.SignatureFormatTag
			if bundle {
				want = pull.SignatureFormatBundle
			}
			if rep.Signatures == nil || rep.Signatures.Verified != 1 || rep.Signatures.Signatures[0].Format != want {
				t.Errorf("signatures %+v", rep.Signatures)
			}
		})
	}
}
