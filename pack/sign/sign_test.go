package sign_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

const signPassword = "sign-test-password"

// signKeyDir is a directory holding a key pair: cosign.key and cosign.pub.
type signKeyDir struct {
	dir    string
	signer signature.SignerVerifier
	pub    signature.Verifier
}

// newSignKey writes a key pair made by sign.GenerateKeyPair, or by the
// cosign CLI when byCosign, to a fresh directory and loads it.
func newSignKey(t testing.TB, byCosign bool) signKeyDir {
	t.Helper()
	dir := t.TempDir()
	if byCosign {
		if out, err := runCosign(t, dir, "generate-key-pair"); err != nil {
			t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
		}
	} else {
		priv, pub, err := sign.GenerateKeyPair([]byte(signPassword))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cosign.key"), priv, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cosign.pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	priv, err := os.ReadFile(filepath.Join(dir, "cosign.key"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sign.LoadPrivateKey(priv, []byte(signPassword))
	if err != nil {
		t.Fatalf("load private key: %v", err)
	}
	pub, err := sigverify.LoadPublicKeyFile(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return signKeyDir{dir: dir, signer: sv, pub: pub}
}

// runCosign runs the pinned cosign CLI offline in dir, with the test
// password.
func runCosign(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	return testutil.Cosign(t, dir, signPassword, args...)
}

// cosignVerify runs "cosign verify --key <dir>/cosign.pub" offline
// against ref on a plain-HTTP test registry.
func cosignVerify(t testing.TB, k signKeyDir, ref string, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{"verify", "--key", filepath.Join(k.dir, "cosign.pub"), "--insecure-ignore-tlog",
		"--allow-http-registry", "--allow-insecure-registry"}, extra...)
	return runCosign(t, k.dir, append(args, ref)...)
}

// pushExample pushes testdata/examples/<name>, tagged name.
func pushExample(t testing.TB, target oras.Target, name string) ocispec.Descriptor {
	t.Helper()
	return testutil.Push(t, target, load(t, filepath.Join(examplesDir, name, "runid.yaml")), name)
}

var signRegistries = []struct {
	name  string
	start func(testing.TB) *testregistry.Registry
}{
	{"distribution", testregistry.StartDistribution},
	{"ggcr", testregistry.StartGGCR},
}

// TestSignCosignVerifies: cosign verify --key --insecure-ignore-tlog, the
// stock CLI at v2.6.5, accepts signatures made by sign.Sign, with keys made
// by runid-oci or by cosign, although runid-oci gives the signature
// manifest a subject and an artifactType.
func TestSignCosignVerifies(t *testing.T) {
	keys := map[bool]signKeyDir{false: newSignKey(t, false), true: newSignKey(t, true)}
	for _, reg := range signRegistries {
		for _, byCosign := range []bool{false, true} {
			name := reg.name + "/runid-key"
			if byCosign {
				name = reg.name + "/cosign-key"
			}
			t.Run(name, func(t *testing.T) {
				k := keys[byCosign]
				r := reg.start(t)
				repo := testregistry.Repository(t, r, "runs/sign")
				subject := pushExample(t, repo, "minimal")
				res, err := sign.Sign(t.Context(), repo, "minimal", k.signer, sign.SignOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Subject.Digest != subject.Digest || res.Tag != "sha256-"+subject.Digest.Encoded()+".sig" || res.Signatures != 1 {
					t.Errorf("result %+v", res)
				}
				m := fetchManifestJSON(t, repo, res.Signature)
				if m.Subject == nil || m.Subject.Digest != subject.Digest {
					t.Errorf("signature manifest subject %v, want %s", m.Subject, subject.Digest)
				}
				out, err := cosignVerify(t, k, r.Ref("runs/sign", subject.Digest.String()))
				if err != nil {
					t.Fatalf("cosign verify rejects a runid-oci signature: %v\n%s", err, out)
				}
				if !strings.Contains(out, subject.Digest.String()) || !strings.Contains(out, "The cosign claims were validated") {
					t.Errorf("cosign verify output:\n%s", out)
				}
				// The payload claims the repository, as cosign writes it.
				if !strings.Contains(out, `"docker-reference":"`+r.Host+`/runs/sign"`) {
					t.Errorf("docker-reference in cosign's output:\n%s", out)
				}
			})
		}
	}
}

// TestSignAppendsToCosignSignatures: runid-oci appends to a signature
// manifest made by cosign (no subject) and adds the subject; both
// signatures then verify with cosign and with runid-oci.
func TestSignAppendsToCosignSignatures(t *testing.T) {
	alice, bob := newSignKey(t, true), newSignKey(t, false)
	for _, reg := range signRegistries {
		t.Run(reg.name, func(t *testing.T) {
			r := reg.start(t)
			repo := testregistry.Repository(t, r, "runs/append")
			subject := pushExample(t, repo, "minimal")
			ref := r.Ref("runs/append", subject.Digest.String())
			if out, err := runCosign(t, alice.dir, "sign", "--key", "cosign.key", "--tlog-upload=false", "-y",
				"--allow-http-registry", "--allow-insecure-registry", ref); err != nil {
				t.Fatalf("cosign sign: %v\n%s", err, out)
			}
			res, err := sign.Sign(t.Context(), repo, subject.Digest.String(), bob.signer, sign.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Signatures != 2 || res.AlreadySigned {
				t.Errorf("result %+v, want 2 signatures", res)
			}
			// Alice signs again through runid-oci: already signed, nothing added.
			again, err := sign.Sign(t.Context(), repo, subject.Digest.String(), alice.signer, sign.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !again.AlreadySigned || again.Signatures != 2 || again.Signature.Digest != res.Signature.Digest {
				t.Errorf("re-sign %+v", again)
			}
			m := fetchManifestJSON(t, repo, res.Signature)
			if m.Subject == nil || m.Subject.Digest != subject.Digest || len(m.Layers) != 2 {
				t.Errorf("manifest %+v", m)
			}
			for _, k := range []signKeyDir{alice, bob} {
				if out, err := cosignVerify(t, k, ref); err != nil {
					t.Errorf("cosign verify: %v\n%s", err, out)
				}
				rep, err := sigverify.VerifySignatures(t.Context(), repo, subject, k.pub, sigverify.Options{})
				if err != nil || rep.Verified != 1 {
					t.Errorf("runid-oci verify: %v %+v", err, rep)
				}
			}
		})
	}
}

// TestSignMovedSignatureRejected: a runid-oci signature copied from one
// identity onto another is rejected by cosign verify (claims) and by
// sigverify.VerifySignatures.
func TestSignMovedSignatureRejected(t *testing.T) {
	k := newSignKey(t, false)
	for _, reg := range signRegistries {
		t.Run(reg.name, func(t *testing.T) {
			ctx := t.Context()
			r := reg.start(t)
			repo := testregistry.Repository(t, r, "runs/moved")
			signed := pushExample(t, repo, "minimal")
			victim := pushExample(t, repo, "rag-agent")
			res, err := sign.Sign(ctx, repo, signed.Digest.String(), k.signer, sign.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			victimTag, err := spec.SignatureTag(victim.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if err := repo.Tag(ctx, res.Signature, victimTag); err != nil {
				t.Fatal(err)
			}
			if out, err := cosignVerify(t, k, r.Ref("runs/moved", victim.Digest.String())); err == nil {
				t.Errorf("cosign verify accepts a moved signature:\n%s", out)
			} else if !strings.Contains(out, "invalid or missing digest in claim") {
				t.Errorf("cosign verify fails for another reason:\n%s", out)
			}
			_, err = sigverify.VerifySignatures(ctx, repo, victim, k.pub, sigverify.Options{})
			var ve *pull.VerificationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Error(), sign.ErrClaimMismatch.Error()) {
				t.Errorf("runid-oci verify of a moved signature: %v", err)
			}
			// The original still verifies with both.
			if out, err := cosignVerify(t, k, r.Ref("runs/moved", signed.Digest.String())); err != nil {
				t.Errorf("cosign verify: %v\n%s", err, out)
			}
		})
	}
}

// TestSignBundleCosignVerifies: cosign verify --new-bundle-format accepts
// a bundle made by sign.Sign, offline, given an empty trusted root (no
// transparency log or certificate authority is needed for a key).
func TestSignBundleCosignVerifies(t *testing.T) {
	k := newSignKey(t, false)
	root := filepath.Join(k.dir, "trusted_root.json")
	if err := os.WriteFile(root, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, reg := range signRegistries {
		t.Run(reg.name, func(t *testing.T) {
			r := reg.start(t)
			repo := testregistry.Repository(t, r, "runs/bundle")
			subject := pushExample(t, repo, "minimal")
			res, err := sign.Sign(t.Context(), repo, "minimal", k.signer, sign.SignOptions{Format: sign.SignatureFormatBundle})
			if err != nil {
				t.Fatal(err)
			}
			if res.Tag != "" || res.Signature.ArtifactType != spec.BundleMediaType {
				t.Errorf("result %+v", res)
			}
			out, err := cosignVerify(t, k, r.Ref("runs/bundle", subject.Digest.String()), "--new-bundle-format", "--trusted-root", root)
			if err != nil {
				t.Fatalf("cosign verify --new-bundle-format rejects a runid-oci bundle: %v\n%s", err, out)
			}
		})
	}
}

func fetchManifestJSON(t testing.TB, src oras.ReadOnlyTarget, d ocispec.Descriptor) ocispec.Manifest {
	t.Helper()
	b, err := content.FetchAll(t.Context(), src, d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sign.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignErrors(t *testing.T) {
	ctx := t.Context()
	k := newSignKey(t, false)
	store, _ := testutil.NewLayout(t)
	subject := pushExample(t, store, "minimal")
	tag, err := spec.SignatureTag(subject.Digest)
	if err != nil {
		t.Fatal(err)
	}
	// A .sig tag that holds the identity itself, not signatures.
	other := pushExample(t, store, "rag-agent")
	otherTag, _ := spec.SignatureTag(other.Digest)
	if err := store.Tag(ctx, subject, otherTag); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ref  string
		opts sign.SignOptions
		want error
	}{
		{"missing tag", "nope", sign.SignOptions{}, sign.ErrSignSubject},
		{"missing digest", "sha256:" + strings.Repeat("0", 64), sign.SignOptions{}, sign.ErrSignSubject},
		{"blob, not a manifest", layoutConfigDigest(t, store, subject), sign.SignOptions{}, sign.ErrSignSubject},
		{"unknown format", "minimal", sign.SignOptions{Format: "sigstore-v9"}, sign.ErrSignatureFormat},
		{"sig tag holds something else", other.Digest.String(), sign.SignOptions{}, sign.ErrSignatureFormat},
		{"bad docker reference", "minimal", sign.SignOptions{DockerReference: "Not A Repository"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sign.Sign(ctx, store, tc.ref, k.signer, tc.opts)
			if err == nil {
				t.Fatal("signed")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// Nothing was written under the identity's signature tag.
	if _, err := store.Resolve(ctx, tag); err == nil {
		t.Error("a failed sign left a signature tag")
	}
}

func layoutConfigDigest(t testing.TB, store *oci.Store, d ocispec.Descriptor) string {
	t.Helper()
	m := fetchManifestJSON(t, store, d)
	return m.Config.Digest.String()
}

func TestLoadPrivateKeyErrors(t *testing.T) {
	priv, pub, err := sign.GenerateKeyPair([]byte("right"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  []byte
		pw   string
		want error
	}{
		{"wrong password", priv, "wrong", sign.ErrKeyPassword},
		{"public key", pub, "right", sign.ErrKey},
		{"garbage", []byte("-----BEGIN NOTHING-----\n-----END NOTHING-----\n"), "right", sign.ErrKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sign.LoadPrivateKey(tc.key, []byte(tc.pw)); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func ExampleSign() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "runid-sign")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	store, err := oci.NewWithContext(ctx, filepath.Join(dir, "layout"))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := pack.Load(ctx, filepath.Join(examplesDir, "minimal", "runid.yaml"), pack.BuildOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := pack.Push(ctx, store, c, pack.PushOptions{Tag: "v1"}); err != nil {
		fmt.Println(err)
		return
	}
	privPEM, _, err := sign.GenerateKeyPair([]byte("password"))
	if err != nil {
		fmt.Println(err)
		return
	}
	signer, err := sign.LoadPrivateKey(privPEM, []byte("password"))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := sign.Sign(ctx, store, "v1", signer, sign.SignOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Subject.Digest == c.Digest(), res.Format, res.Tag == "sha256-"+c.Digest().Encoded()+".sig", res.Signatures)
	// Output: true tag true 1
}
