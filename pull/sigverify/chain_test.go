package sigverify_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
)

// attachRecord attaches an output record with one file to identity and
// returns its descriptor.
func attachRecord(t testing.TB, target oras.Target, identity ocispec.Descriptor) ocispec.Descriptor {
	t.Helper()
	f := filepath.Join(t.TempDir(), "answer.txt")
	if err := os.WriteFile(f, []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := referrer.Attach(t.Context(), target, identity.Digest.String(), []referrer.OutputFile{{Path: f}}, referrer.AttachOptions{})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	return res.Descriptor
}

// TestVerifyChain verifies an output record signed by the producer of
// outputs whose identity is signed by the declarer of the run, in every
// kind of store.
func TestVerifyChain(t *testing.T) {
	declarer, producer := testutil.Key(t), testutil.Key(t)
	for _, src := range sources {
		t.Run(src.Name, func(t *testing.T) {
			var identity, record ocispec.Descriptor
			store := src.Open(t, func(target oras.Target) {
				identity = pushIdentity(t, target, "minimal")
				signRef(t, target, identity, declarer, sign.SignatureFormatTag)
				record = attachRecord(t, target, identity)
				signRef(t, target, record, producer, sign.SignatureFormatBundle)
			})
			rep, err := pull.Verify(t.Context(), store, record.Digest.String(), pull.VerifyOptions{Signatures: sigverify.Verifier{Key: producer}, IdentitySignatures: sigverify.Verifier{Key: declarer}})
			if err != nil {
				t.Fatalf("verify chain: %v", err)
			}
			if !rep.Verified || rep.Digest != record.Digest || len(rep.Chain) != 2 {
				t.Fatalf("report: verified %v, digest %s, chain %+v", rep.Verified, rep.Digest, rep.Chain)
			}
			for i, want := range []struct {
				kind   string
				digest ocispec.Descriptor
				format string
			}{{pull.ChainOutputRecord, record, pull.SignatureFormatBundle}, {pull.ChainIdentity, identity, pull.SignatureFormatTag}} {
				l := rep.Chain[i]
				if l.Kind != want.kind || l.Digest != want.digest.Digest || !l.Verified || l.Signatures == nil || l.Signatures.Verified != 1 ||
					l.Signatures.Signatures[0].Format != want.format {
					t.Errorf("chain[%d] = %+v, want %s %s signed in the %s format", i, l, want.kind, want.digest.Digest, want.format)
				}
			}
			if rep.Identity == nil || rep.Identity.Descriptor.Digest != identity.Digest {
				t.Error("report without the identity")
			}
		})
	}
}

func TestVerifyChainFailures(t *testing.T) {
	declarer, producer, stranger := testutil.Key(t), testutil.Key(t), testutil.Key(t)
	type env struct {
		store    oras.Target
		dir      string
		identity ocispec.Descriptor
		record   ocispec.Descriptor
	}
	signAs := func(t *testing.T, e env, d ocispec.Descriptor, k signature.SignerVerifier) {
		signRef(t, e.store, d, k, sign.SignatureFormatTag)
	}
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, e env)
		opts    pull.VerifyOptions
		ok      bool
		subject string // a failed check's subject starts with this
		check   string
	}{
		{"both signed, two keys", func(t *testing.T, e env) {
			signAs(t, e, e.identity, declarer)
			signAs(t, e, e.record, producer)
		}, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: producer}, IdentitySignatures: sigverify.Verifier{Key: declarer}}, true, "", ""},
		{"both signed, one key", func(t *testing.T, e env) {
			signAs(t, e, e.identity, producer)
			signAs(t, e, e.record, producer)
		}, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: producer}}, true, "", ""},
		{"no key: content only", func(t *testing.T, e env) {}, pull.VerifyOptions{}, true, "", ""},
		{"identity signed by another key than --key", func(t *testing.T, e env) {
			signAs(t, e, e.identity, declarer)
			signAs(t, e, e.record, producer)
		}, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: producer}}, false, "identity", "signature"},
		{"record unsigned", func(t *testing.T, e env) {
			signAs(t, e, e.identity, declarer)
		}, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: producer}, IdentitySignatures: sigverify.Verifier{Key: declarer}}, false, "output record", "signature-count"},
		{"identity unsigned", func(t *testing.T, e env) {
			signAs(t, e, e.record, producer)
		}, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: producer}, IdentitySignatures: sigverify.Verifier{Key: declarer}}, false, "identity", "signature-count"},
		{"record signed by a stranger", func(t *testing.T, e env) {
			signAs(t, e, e.identity, declarer)
			signAs(t, e, e.record, stranger)
		}, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: producer}, IdentitySignatures: sigverify.Verifier{Key: declarer}}, false, "output record", "signature"},
		{"record's signature moved onto the identity", func(t *testing.T, e env) {
			res := signRef(t, e.store, e.record, producer, sign.SignatureFormatTag)
			tag := "sha256-" + e.identity.Digest.Encoded() + ".sig"
			if err := e.store.Tag(t.Context(), res.Signature, tag); err != nil {
				t.Fatal(err)
			}
		}, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: producer}}, false, "identity", "signature"},
		{"output file altered", func(t *testing.T, e env) {
			signAs(t, e, e.identity, declarer)
			signAs(t, e, e.record, producer)
			rec := fetchJSON[ocispec.Manifest](t, e.store, e.record)
			p := filepath.Join(e.dir, "blobs", "sha256", rec.Layers[0].Digest.Encoded())
			if err := os.WriteFile(p, []byte("41\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: producer}, IdentitySignatures: sigverify.Verifier{Key: declarer}}, false, "output record answer.txt", "blob-digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, dir := testutil.NewLayout(t)
			e := env{store: store, dir: dir, identity: pushIdentity(t, store, "minimal")}
			e.record = attachRecord(t, store, e.identity)
			tc.setup(t, e)
			rep, err := pull.Verify(t.Context(), store, e.record.Digest.String(), tc.opts)
			if tc.ok {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if !rep.Verified || len(rep.Chain) != 2 || !rep.Chain[0].Verified || !rep.Chain[1].Verified {
					t.Errorf("report %+v", rep)
				}
				if (tc.opts.Signatures == nil) != (rep.Signatures == nil) {
					t.Errorf("signatures %+v with key %v", rep.Signatures, tc.opts.Signatures)
				}
				return
			}
			probs := testutil.WantVerificationError(t, err).Problems
			if rep == nil || rep.Verified {
				t.Fatalf("report %+v", rep)
			}
			for _, p := range probs {
				if p.Check == tc.check && strings.HasPrefix(p.Subject, tc.subject) {
					return
				}
			}
			t.Errorf("no %s problem about %q in %v", tc.check, tc.subject, probs)
		})
	}
}

// TestVerifyIdentitySignature: Verify of an identity with Key adds the
// signature checks to the content checks.
func TestVerifyIdentitySignature(t *testing.T) {
	key, other := testutil.Key(t), testutil.Key(t)
	store, _ := testutil.NewLayout(t)
	identity := pushIdentity(t, store, "minimal")
	ref := identity.Digest.String()
	if _, err := pull.Verify(t.Context(), store, ref, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: key}}); !errors.Is(err, pull.ErrVerification) {
		t.Errorf("unsigned identity: %v", err)
	}
	signRef(t, store, identity, key, sign.SignatureFormatTag)
	rep, err := pull.Verify(t.Context(), store, ref, pull.VerifyOptions{Signatures: sigverify.Verifier{Key: key}})
	if err != nil || rep.Signatures == nil || rep.Signatures.Verified != 1 || rep.Chain != nil {
		t.Fatalf("signed identity: %v %+v", err, rep)
	}
	found := false
	for _, c := range rep.Checks {
		found = found || (c.Check == "signature" && c.OK)
	}
	if !found {
		t.Errorf("no passed signature check in %+v", rep.Checks)
	}
	for _, opts := range []pull.VerifyOptions{{Signatures: sigverify.Verifier{Key: other}}, {IdentitySignatures: sigverify.Verifier{Key: other}}} {
		_, err := pull.Verify(t.Context(), store, ref, opts)
		probs := testutil.WantVerificationError(t, err).Problems
		if probs[0].Check != "signature" {
			t.Errorf("problems %v", probs)
		}
	}
}

func fetchJSON[T any](t testing.TB, src oras.ReadOnlyTarget, d ocispec.Descriptor) T {
	t.Helper()
	var v T
	b, err := content.FetchAll(t.Context(), src, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
