package sigverify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// pushIdentity pushes the minimal example to target and returns its
// descriptor.
func pushIdentity(t testing.TB, target oras.Target, example string) ocispec.Descriptor {
	t.Helper()
	return testutil.Push(t, target, testutil.LoadExample(t, example), tag)
}

func signRef(t testing.TB, target oras.Target, d ocispec.Descriptor, sv signature.SignerVerifier, format sign.SignatureFormat) sign.SignResult {
	t.Helper()
	res, err := sign.Sign(t.Context(), target, d.Digest.String(), sv, sign.SignOptions{Format: format})
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return res
}

func TestVerifySignaturesEverywhere(t *testing.T) {
	sv := testutil.Key(t)
	for _, src := range sources {
		for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
			t.Run(src.Name+"/"+string(format), func(t *testing.T) {
				var subject ocispec.Descriptor
				var signed sign.SignResult
				store := src.Open(t, func(target oras.Target) {
					subject = pushIdentity(t, target, "minimal")
					signed = signRef(t, target, subject, sv, format)
				})
				if signed.Subject.Digest != subject.Digest || signed.Format != format {
					t.Errorf("sign result %+v", signed)
				}
				rep, err := sigverify.VerifySignatures(t.Context(), store, subject, sv, sigverify.Options{})
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if rep.Verified != 1 || len(rep.Signatures) != 1 || rep.Subject != subject.Digest {
					t.Fatalf("report %+v", rep)
				}
				s := rep.Signatures[0]
				if s.Format != string(format) || s.Manifest != signed.Signature.Digest || !s.Verified {
					t.Errorf("signature %+v, want format %s manifest %s", s, format, signed.Signature.Digest)
				}
				// The tag format is found by its tag and, through its
				// subject, among the referrers; the bundle by referrers.
				want := "referrers"
				if format == sign.SignatureFormatTag {
					want = "tag,referrers"
				}
				if s.Found != want {
					t.Errorf("found %q, want %q", s.Found, want)
				}
				keyID, err := sign.VerifierKeyID(sv)
				if err != nil {
					t.Fatal(err)
				}
				if rep.KeyID != keyID {
					t.Errorf("key ID %q, want %q", rep.KeyID, keyID)
				}
			})
		}
	}
}

func TestVerifySignaturesSeveralSigners(t *testing.T) {
	ctx := t.Context()
	alice, bob, carol := testutil.Key(t), testutil.Key(t), testutil.Key(t)
	for _, src := range sources {
		t.Run(src.Name, func(t *testing.T) {
			var subject ocispec.Descriptor
			var second sign.SignResult
			store := src.Open(t, func(target oras.Target) {
				subject = pushIdentity(t, target, "minimal")
				first := signRef(t, target, subject, alice, sign.SignatureFormatTag)
				if first.Signatures != 1 {
					t.Errorf("first signature: %d in the manifest", first.Signatures)
				}
				second = signRef(t, target, subject, bob, sign.SignatureFormatTag)
				if second.Signatures != 2 {
					t.Errorf("second signer: %d signatures in the manifest, want 2 (appended)", second.Signatures)
				}
				again := signRef(t, target, subject, bob, sign.SignatureFormatTag)
				if !again.AlreadySigned || again.Signatures != 2 || again.Signature.Digest != second.Signature.Digest {
					t.Errorf("signing twice with one key: %+v", again)
				}
			})
			for _, who := range []struct {
				name string
				key  signature.Verifier
				ok   bool
			}{{"alice", alice, true}, {"bob", bob, true}, {"carol", carol, false}} {
				rep, err := sigverify.VerifySignatures(ctx, store, subject, who.key, sigverify.Options{})
				if who.ok != (err == nil) {
					t.Fatalf("%s: err = %v", who.name, err)
				}
				if !who.ok {
					testutil.WantVerificationError(t, err)
				}
				// The superseded manifest was deleted, so each signature is
				// examined once.
				if len(rep.Signatures) != 2 {
					t.Errorf("%s: %d signatures examined, want 2: %+v", who.name, len(rep.Signatures), rep.Signatures)
				}
				if who.ok && rep.Verified != 1 {
					t.Errorf("%s: %d verified, want 1", who.name, rep.Verified)
				}
			}
		})
	}
}

// forge writes a tag-format signature manifest for subject in store:
// layers of (payload, base64 signature), tagged with subject's .sig tag
// (or tag, when set).
type forgedLayer struct {
	payload []byte
	sig     string
	size    int64 // claimed size, when not 0
}

func forge(t testing.TB, store oras.Target, subject ocispec.Descriptor, tag string, layers ...forgedLayer) ocispec.Descriptor {
	t.Helper()
	ctx := t.Context()
	var descs []ocispec.Descriptor
	for _, l := range layers {
		d := sign.SignatureLayer(l.payload, l.sig)
		if _, err := oras.PushBytes(ctx, store, d.MediaType, l.payload); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			t.Fatal(err)
		}
		if l.size != 0 {
			d.Size = l.size
		}
		descs = append(descs, d)
	}
	var built sign.Built
	if len(descs) > spec.MaxSignatureLayers {
		// BuildTagManifest refuses this; write it by hand.
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Layers: descs,
			Config: ocispec.Descriptor{MediaType: spec.SignatureConfigMediaType, Digest: digest.FromString("{}"), Size: 2}}
		m.SchemaVersion = 2
		b, err := jsonMarshal(m)
		if err != nil {
			t.Fatal(err)
		}
		built = sign.Built{Manifest: b, Config: []byte("{}"), ConfigDesc: m.Config,
			Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}}
	} else {
		var err error
		if built, err = sign.BuildTagManifest(descs, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := oras.PushBytes(ctx, store, built.ConfigDesc.MediaType, built.Config); err != nil {
		t.Fatal(err)
	}
	if tag == "" {
		var err error
		if tag, err = spec.SignatureTag(subject.Digest); err != nil {
			t.Fatal(err)
		}
	}
	d, err := oras.TagBytes(ctx, store, built.Descriptor.MediaType, built.Manifest, tag)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func signB64(t testing.TB, sv signature.Signer, payload []byte) string {
	t.Helper()
	sig, err := sv.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestVerifySignaturesFailures(t *testing.T) {
	key, other := testutil.Key(t), testutil.Key(t)
	type env struct {
		store   *oci.Store
		subject ocispec.Descriptor // the identity verified
		another ocispec.Descriptor // another identity in the store
	}
	payloadFor := func(t testing.TB, d digest.Digest) []byte {
		p, err := sign.SimpleSigningPayload(d, "registry.example/runs")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, e env)
		check string // problem check
		want  string // in the problem message
	}{
		{"zero signatures", func(t *testing.T, e env) {}, "signature-count", "no signatures found"},
		{"signature tag of another identity only", func(t *testing.T, e env) {
			signRef(t, e.store, e.another, key, sign.SignatureFormatTag)
		}, "signature-count", "no signatures found"},
		{"other key", func(t *testing.T, e env) {
			signRef(t, e.store, e.subject, other, sign.SignatureFormatTag)
		}, "signature", sign.ErrBadSignature.Error()},
		{"other key, bundle", func(t *testing.T, e env) {
			signRef(t, e.store, e.subject, other, sign.SignatureFormatBundle)
		}, "signature", sign.ErrBadSignature.Error()},
		{"altered payload", func(t *testing.T, e env) {
			p := payloadFor(t, e.subject.Digest)
			sig := signB64(t, key, p)
			altered := bytes.Replace(p, []byte("registry.example"), []byte("registry.evil.example"), 1)
			forge(t, e.store, e.subject, "", forgedLayer{payload: altered, sig: sig})
		}, "signature", sign.ErrBadSignature.Error()},
		{"bad base64", func(t *testing.T, e env) {
			p := payloadFor(t, e.subject.Digest)
			forge(t, e.store, e.subject, "", forgedLayer{payload: p, sig: "%%%" + signB64(t, key, p)})
		}, "signature", "not base64"},
		{"bad DER", func(t *testing.T, e env) {
			p := payloadFor(t, e.subject.Digest)
			forge(t, e.store, e.subject, "", forgedLayer{payload: p, sig: base64.StdEncoding.EncodeToString([]byte("this is not DER"))})
		}, "signature", "not an ASN.1 DER ECDSA signature"},
		{"moved signature", func(t *testing.T, e env) {
			// A valid signature of another identity, put under this one's tag.
			p := payloadFor(t, e.another.Digest)
			forge(t, e.store, e.subject, "", forgedLayer{payload: p, sig: signB64(t, key, p)})
		}, "signature", "names " + "sha256:"},
		{"moved bundle", func(t *testing.T, e env) {
			// A valid bundle of another identity, as a referrer of this one.
			b, err := sign.NewBundle(t.Context(), key, e.another.Digest)
			if err != nil {
				t.Fatal(err)
			}
			layer, err := oras.PushBytes(t.Context(), e.store, spec.BundleMediaType, b)
			if err != nil {
				t.Fatal(err)
			}
			built, err := sign.BuildBundleManifest(layer, e.subject, timeZero)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := oras.PushBytes(t.Context(), e.store, built.ConfigDesc.MediaType, built.Config); err != nil {
				t.Fatal(err)
			}
			if _, err := oras.PushBytes(t.Context(), e.store, built.Descriptor.MediaType, built.Manifest); err != nil {
				t.Fatal(err)
			}
		}, "signature", sign.ErrClaimMismatch.Error()},
		{"missing payload blob", func(t *testing.T, e env) {
			p := payloadFor(t, e.subject.Digest)
			l := sign.SignatureLayer(p, signB64(t, key, p))
			built, err := sign.BuildTagManifest([]ocispec.Descriptor{l}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := oras.PushBytes(t.Context(), e.store, built.ConfigDesc.MediaType, built.Config); err != nil {
				t.Fatal(err)
			}
			tag, _ := spec.SignatureTag(e.subject.Digest)
			if _, err := oras.TagBytes(t.Context(), e.store, built.Descriptor.MediaType, built.Manifest, tag); err != nil {
				t.Fatal(err)
			}
		}, "signature", "missing"},
		{"101 signatures", func(t *testing.T, e env) {
			var layers []forgedLayer
			for i := range sigverify.DefaultMaxSignatures + 1 {
				p := payloadFor(t, e.subject.Digest)
				p = bytes.Replace(p, []byte(`"optional":null`), fmt.Appendf(nil, `"optional":{"n":%d}`, i), 1)
				layers = append(layers, forgedLayer{payload: p, sig: signB64(t, key, p)})
			}
			forge(t, e.store, e.subject, "", layers...)
		}, "signature-count", "more than 100 signatures"},
		{"oversized signature artifact", func(t *testing.T, e env) {
			p := payloadFor(t, e.subject.Digest)
			forge(t, e.store, e.subject, "", forgedLayer{payload: p, sig: signB64(t, key, p), size: sigverify.DefaultMaxSignatureArtifactSize + 1})
		}, "signature", "over the size cap"},
		{"too many layers", func(t *testing.T, e env) {
			p := payloadFor(t, e.subject.Digest)
			l := forgedLayer{payload: p, sig: signB64(t, key, p)}
			layers := make([]forgedLayer, sigverify.DefaultMaxSignatureLayers+1)
			for i := range layers {
				layers[i] = l
			}
			forge(t, e.store, e.subject, "", layers...)
		}, "signature", "1001 layers"},
		{"lying payload size", func(t *testing.T, e env) {
			p := payloadFor(t, e.subject.Digest)
			forge(t, e.store, e.subject, "", forgedLayer{payload: p, sig: signB64(t, key, p), size: int64(len(p) - 1)})
		}, "signature", "bytes or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := testutil.NewLayout(t)
			e := env{store: store, subject: pushIdentity(t, store, "minimal"), another: pushIdentity(t, store, "rag-agent")}
			tc.setup(t, e)
			rep, err := sigverify.VerifySignatures(t.Context(), store, e.subject, key, sigverify.Options{})
			probs := testutil.WantVerificationError(t, err).Problems
			if rep == nil || rep.Verified != 0 {
				t.Errorf("report %+v", rep)
			}
			for _, p := range probs {
				if p.Check == tc.check && strings.Contains(p.Msg, tc.want) {
					return
				}
			}
			t.Errorf("no %q problem saying %q in %v", tc.check, tc.want, probs)
		})
	}
}

func TestVerifySignaturesBadInput(t *testing.T) {
	store, _ := testutil.NewLayout(t)
	subject := pushIdentity(t, store, "minimal")
	if _, err := sigverify.VerifySignatures(t.Context(), store, subject, nil, sigverify.Options{}); !errors.Is(err, sigverify.ErrNoKey) {
		t.Errorf("no key: %v", err)
	}
	if _, err := sigverify.VerifySignatures(t.Context(), store, ocispec.Descriptor{Digest: "sha256:nope"}, testutil.Key(t), sigverify.Options{}); !errors.Is(err, pull.ErrInvalidReference) {
		t.Errorf("bad digest: %v", err)
	}
}

// TestVerifySignaturesBounds checks that the bounds are options.
func TestVerifySignaturesBounds(t *testing.T) {
	key := testutil.Key(t)
	store, _ := testutil.NewLayout(t)
	subject := pushIdentity(t, store, "minimal")
	signRef(t, store, subject, key, sign.SignatureFormatTag)
	signRef(t, store, subject, testutil.Key(t), sign.SignatureFormatTag)
	for _, tc := range []struct {
		name  string
		opts  sigverify.Options
		check string
	}{
		{"max signatures", sigverify.Options{MaxSignatures: 1}, "signature-count"},
		{"max layers", sigverify.Options{MaxLayers: 1}, "signature"},
		{"max artifact size", sigverify.Options{MaxArtifactSize: 10}, "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sigverify.VerifySignatures(t.Context(), store, subject, key, tc.opts)
			probs := testutil.WantVerificationError(t, err).Problems
			if probs[0].Check != tc.check {
				t.Errorf("problems %v", probs)
			}
		})
	}
}

var cosignRegistryFlags = []string{"--allow-http-registry", "--allow-insecure-registry"}

// TestVerifySignaturesMadeByCosign: signatures made by the stock cosign CLI
// (v2.6.5), with a key from cosign generate-key-pair and no transparency
// log, verify with runid-oci, in the tag format and with
// --new-bundle-format, on registries with and without the referrers API.
func TestVerifySignaturesMadeByCosign(t *testing.T) {
	dir := t.TempDir()
	if out, err := testutil.Cosign(t, dir, "test-password", "generate-key-pair"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	pub, err := sign.LoadPublicKeyFile(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	otherKey := testutil.Key(t)
	for _, reg := range registries {
		for _, bundle := range []bool{false, true} {
			name := reg.Name + "/tag-format"
			if bundle {
				name = reg.Name + "/new-bundle-format"
			}
			t.Run(name, func(t *testing.T) {
				r := testregistry.Serve(t, reg.Handler(t))
				repo := testregistry.Repository(t, r, repoName)
				subject := pushIdentity(t, repo, "minimal")
				args := append([]string{"sign", "--key", "cosign.key", "--tlog-upload=false", "-y"}, cosignRegistryFlags...)
				if bundle {
					args = append(args, "--new-bundle-format")
				}
				args = append(args, r.Ref(repoName, subject.Digest.String()))
				if out, err := testutil.Cosign(t, dir, "test-password", args...); err != nil {
					t.Fatalf("cosign sign: %v\n%s", err, out)
				}
				rep, err := sigverify.VerifySignatures(t.Context(), repo, subject, pub, sigverify.Options{})
				if err != nil {
					t.Fatalf("runid-oci does not accept cosign's signature: %v", err)
				}
				wantFormat := pull.SignatureFormatTag
				if bundle {
					wantFormat = pull.SignatureFormatBundle
				}
				if rep.Verified != 1 || rep.Signatures[0].Format != wantFormat {
					t.Errorf("report %+v", rep)
				}
				// And not with another key.
				_, err = sigverify.VerifySignatures(t.Context(), repo, subject, otherKey, sigverify.Options{})
				testutil.WantVerificationError(t, err)
			})
		}
	}
}

// TestVerifySignaturesLayoutTarOffline: sign in an OCI layout, export it as
// a tar file, and verify the tar with nothing but the public key file.
func TestVerifySignaturesLayoutTarOffline(t *testing.T) {
	priv, pubPEM, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sign.LoadPrivateKey(priv, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	store, dir := testutil.NewLayout(t)
	subject := pushIdentity(t, store, "rag-agent")
	signRef(t, store, subject, sv, sign.SignatureFormatTag)
	signRef(t, store, subject, sv, sign.SignatureFormatBundle)

	tarred := testutil.TarLayout(t, dir)
	pubFile := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pubFile, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	pub, err := sign.LoadPublicKeyFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pull.Resolve(t.Context(), tarred, tag, pull.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sigverify.VerifySignatures(t.Context(), tarred, res.Descriptor, pub, sigverify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verified != 2 {
		t.Errorf("%d signatures verified in the tar, want 2 (tag and bundle): %+v", rep.Verified, rep.Signatures)
	}
}

var timeZero = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func ExampleVerifySignatures() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "runid-example")
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
	c, err := pack.Load(ctx, filepath.Join(examples, "minimal", "runid.yaml"), pack.BuildOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	pushed, err := pack.Push(ctx, store, c, pack.PushOptions{Tag: "v1"})
	if err != nil {
		fmt.Println(err)
		return
	}

	// A key pair as "cosign generate-key-pair" makes it.
	privPEM, pubPEM, err := sign.GenerateKeyPair([]byte("password"))
	if err != nil {
		fmt.Println(err)
		return
	}
	signer, err := sign.LoadPrivateKey(privPEM, []byte("password"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := sign.Sign(ctx, store, "v1", signer, sign.SignOptions{}); err != nil {
		fmt.Println(err)
		return
	}

	// The receiving side: the store and the public key.
	key, err := sigverify.LoadPublicKey(pubPEM)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := sigverify.VerifySignatures(ctx, store, pushed.Descriptor, key, sigverify.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Verified, rep.Signatures[0].Format, rep.Signatures[0].Found)
	// Output: 1 tag tag,referrers
}
