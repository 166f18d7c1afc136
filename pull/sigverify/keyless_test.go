package sigverify_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/internal/sigstoretest"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

const (
	ciIdentity = "ci@runid.example"
	ciIssuer   = "https://issuer.runid.example"
)

var ciPolicy = sigverify.Identity{Subject: ciIdentity, Issuer: ciIssuer}

// signKeyless signs the manifest d in target against ss's Fulcio and Rekor
// as ciIdentity.
func signKeyless(t testing.TB, ss *sigstoretest.Sigstore, target oras.Target, d ocispec.Descriptor, format sign.SignatureFormat) sign.SignResult {
	t.Helper()
	res, err := sign.SignKeyless(t.Context(), target, d.Digest.String(), sign.KeylessOptions{
		FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, IdentityToken: sigstoretest.Token(ciIdentity, ciIssuer),
		Sign: sign.SignOptions{Format: format},
	})
	if err != nil {
		t.Fatalf("sign keyless: %v", err)
	}
	return res
}

// keylessOpts are the options of keyless verification against tr and id:
// the SCT is required (the in-process Fulcio embeds one).
func keylessOpts(tr root.TrustedMaterial, id sigverify.Identity) sigverify.KeylessOptions {
	return sigverify.KeylessOptions{TrustedRoot: tr, Identity: id}
}

// wantKeylessFailure asserts that err is a verification failure whose only
// signature failed check, with a reason containing want.
func wantKeylessFailure(t *testing.T, rep *pull.SignatureReport, err error, check, want string) {
	t.Helper()
	probs := testutil.WantVerificationError(t, err).Problems
	if rep == nil || rep.Verified != 0 || len(rep.Signatures) != 1 {
		t.Fatalf("report %+v, want one signature examined, none verified", rep)
	}
	reason := rep.Signatures[0].Reason
	if !strings.HasPrefix(reason, check+": ") || !strings.Contains(reason, want) {
		t.Errorf("reason %q, want the check %q failing with %q", reason, check, want)
	}
	if !strings.Contains(probs[0].Msg, reason) {
		t.Errorf("problem %q does not carry the reason %q", probs[0].Msg, reason)
	}
}

func TestKeylessSignVerifyEverywhere(t *testing.T) {
	ss := sigstoretest.New(t)
	tr := ss.TrustedRoot(t)
	for _, src := range sources {
		for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
			t.Run(src.Name+"/"+string(format), func(t *testing.T) {
				var subject ocispec.Descriptor
				var signed sign.SignResult
				store := src.Open(t, func(target oras.Target) {
					subject = pushIdentity(t, target, "minimal")
					signed = signKeyless(t, ss, target, subject, format)
				})
				if signed.Signer != ciIdentity+" ("+ciIssuer+")" || signed.KeyID != "" {
					t.Errorf("sign result %+v", signed)
				}
				rep, err := sigverify.VerifyKeyless(t.Context(), store, subject, keylessOpts(tr, ciPolicy))
				if err != nil {
					t.Fatalf("verify: %v (report %+v)", err, rep)
				}
				if rep.Verified != 1 || len(rep.Signatures) != 1 || rep.Keyless != ciPolicy.String() {
					t.Fatalf("report %+v", rep)
				}
				s := rep.Signatures[0].Signer
				if s == nil || s.Identity != ciIdentity || s.Issuer != ciIssuer || len(s.SigningTimes) == 0 || s.SigningTimes[0].Kind != "tlog" {
					t.Fatalf("signer %+v", s)
				}
				if d := time.Since(s.SigningTimes[0].Time); d < 0 || d > time.Minute {
					t.Errorf("signing time %v, want about now", s.SigningTimes[0].Time)
				}
			})
		}
	}
}

func TestKeylessIdentityPolicy(t *testing.T) {
	ss := sigstoretest.New(t)
	tr := ss.TrustedRoot(t)
	store, _ := testutil.NewLayout(t)
	subject := pushIdentity(t, store, "minimal")
	signKeyless(t, ss, store, subject, sign.SignatureFormatBundle)
	signKeyless(t, ss, store, subject, sign.SignatureFormatTag)

	ok := []sigverify.Identity{
		ciPolicy,
		{SubjectRegexp: `^ci@runid\.example$`, Issuer: ciIssuer},
		{Subject: ciIdentity, IssuerRegexp: `^https://issuer\.`},
	}
	for _, id := range ok {
		rep, err := sigverify.VerifyKeyless(t.Context(), store, subject, keylessOpts(tr, id))
		if err != nil || rep.Verified != 2 {
			t.Errorf("%s: err %v, report %+v; want both signatures to verify", id, err, rep)
		}
	}
	bad := []struct {
		name string
		id   sigverify.Identity
		want string
	}{
		{"wrong identity", sigverify.Identity{Subject: "attacker@runid.example", Issuer: ciIssuer}, "attacker@runid.example"},
		{"wrong issuer", sigverify.Identity{Subject: ciIdentity, Issuer: "https://accounts.google.com"}, "https://accounts.google.com"},
		{"identity regexp", sigverify.Identity{SubjectRegexp: `^release@`, Issuer: ciIssuer}, "^release@"},
		{"workflow repository", sigverify.Identity{Subject: ciIdentity, Issuer: ciIssuer, GitHubWorkflowRepository: "runid/runid-oci"}, "runid/runid-oci"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			rep, err := sigverify.VerifyKeyless(t.Context(), store, subject, keylessOpts(tr, c.id))
			testutil.WantVerificationError(t, err)
			if rep.Verified != 0 || len(rep.Signatures) != 2 {
				t.Fatalf("report %+v", rep)
			}
			for _, s := range rep.Signatures {
				if !strings.HasPrefix(s.Reason, "identity: ") || !strings.Contains(s.Reason, c.want) {
					t.Errorf("%s signature: reason %q, want an identity failure naming %q", s.Format, s.Reason, c.want)
				}
				if s.Signer == nil || s.Signer.Identity != ciIdentity {
					t.Errorf("signer %+v, want the certificate's identity reported", s.Signer)
				}
			}
		})
	}
	for _, id := range []sigverify.Identity{{Subject: ciIdentity}, {Issuer: ciIssuer}, {SubjectRegexp: "(", Issuer: ciIssuer}} {
		if _, err := sigverify.VerifyKeyless(t.Context(), store, subject, keylessOpts(tr, id)); !errors.Is(err, sigverify.ErrIdentityPolicy) || errors.Is(err, pull.ErrVerification) {
			t.Errorf("%+v: err %v, want ErrIdentityPolicy (could not check)", id, err)
		}
	}
	if _, err := sigverify.VerifyKeyless(t.Context(), store, subject, sigverify.KeylessOptions{Identity: ciPolicy}); !errors.Is(err, sigverify.ErrTrustedRoot) {
		t.Errorf("no trusted root: err %v, want ErrTrustedRoot", err)
	}
}

// TestKeylessRequiresSCT: a certificate without an SCT, or with a tampered
// one, does not verify, in both formats; with IgnoreSCT (a private Fulcio
// logging to no CT log) the one without verifies.
func TestKeylessRequiresSCT(t *testing.T) {
	ss := sigstoretest.New(t)
	tr := ss.TrustedRoot(t)
	for _, c := range []struct {
		name string
		sct  sigstoretest.SCT
		want string
	}{
		{"missing", sigstoretest.SCTNone, "0 SCT entries"},
		{"tampered", sigstoretest.SCTTampered, "signed certificate timestamp"},
	} {
		for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
			t.Run(c.name+"/"+string(format), func(t *testing.T) {
				store, _ := testutil.NewLayout(t)
				subject := pushIdentity(t, store, "minimal")
				ss.SetSCT(c.sct)
				defer ss.SetSCT(sigstoretest.SCTValid)
				signKeyless(t, ss, store, subject, format)
				rep, err := sigverify.VerifyKeyless(t.Context(), store, subject, keylessOpts(tr, ciPolicy))
				wantKeylessFailure(t, rep, err, "certificate SCT", c.want)
				if c.sct == sigstoretest.SCTNone {
					opts := keylessOpts(tr, ciPolicy)
					opts.IgnoreSCT = true
					if rep, err := sigverify.VerifyKeyless(t.Context(), store, subject, opts); err != nil || rep.Verified != 1 {
						t.Errorf("with IgnoreSCT: err %v, report %+v", err, rep)
					}
				}
			})
		}
	}
}

func TestKeylessUntrustedCA(t *testing.T) {
	ss := sigstoretest.New(t)
	for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
		t.Run(string(format), func(t *testing.T) {
			store, _ := testutil.NewLayout(t)
			subject := pushIdentity(t, store, "minimal")
			signKeyless(t, ss, store, subject, format)
			// The log and the timestamp authority are trusted, the CA that
			// issued the certificate is not.
			rep, err := sigverify.VerifyKeyless(t.Context(), store, subject, keylessOpts(ss.TrustedRootVirtualFulcio(t), ciPolicy))
			wantKeylessFailure(t, rep, err, "certificate chain", "leaf certificate")
			// Nor is anything from another Sigstore.
			rep, err = sigverify.VerifyKeyless(t.Context(), store, subject, keylessOpts(sigstoretest.New(t).TrustedRoot(t), ciPolicy))
			wantKeylessFailure(t, rep, err, "transparency log", "not enough verified log entries")
		})
	}
}

// tagLayer returns the first layer of the tag-format signature of subject.
func tagLayer(t *testing.T, store oras.ReadOnlyTarget, subject ocispec.Descriptor) ocispec.Descriptor {
	t.Helper()
	tag, _ := spec.SignatureTag(subject.Digest)
	d, err := store.Resolve(t.Context(), tag)
	if err != nil {
		t.Fatal(err)
	}
	b, err := content.FetchAll(t.Context(), store, d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sign.ParseManifest(b)
	if err != nil || len(m.Layers) == 0 {
		t.Fatalf("signature manifest: %v", err)
	}
	return m.Layers[0]
}

// putTagSignature replaces the tag-format signature of subject in store
// with one holding layer over payload.
func putTagSignature(t *testing.T, store oras.Target, subject ocispec.Descriptor, payload []byte, layer ocispec.Descriptor) {
	t.Helper()
	tag, _ := spec.SignatureTag(subject.Digest)
	putTagLayer(t, store, subject, payload, layer, sign.BuildTagManifest, tag)
}

// putTagLayer pushes blob as layer and tags, as tag, the manifest that
// build makes of it for subject: a tag-format signature or attestation
// whose layer a test has chosen.
func putTagLayer(t *testing.T, store oras.Target, subject ocispec.Descriptor, blob []byte, layer ocispec.Descriptor, build func([]ocispec.Descriptor, *ocispec.Descriptor) (sign.Built, error), tag string) {
	t.Helper()
	ctx := t.Context()
	if _, err := pack.PushBlobs(ctx, store, []pack.Blob{pack.BytesBlob("", layer, blob)}, pack.PushBlobsOptions{}); err != nil {
		t.Fatal(err)
	}
	built, err := build([]ocispec.Descriptor{layer}, &subject)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.PushBlobs(ctx, store, []pack.Blob{pack.BytesBlob("", built.ConfigDesc, built.Config)}, pack.PushBlobsOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := oras.TagBytes(ctx, store, built.Descriptor.MediaType, built.Manifest, tag); err != nil {
		t.Fatal(err)
	}
}

// virtualTagLayer makes a tag-format keyless signature of subject with the
// virtual Sigstore's own CA, logged at logTime; withLog false leaves the
// Rekor bundle out. No RFC 3161 timestamp is attached.
func virtualTagLayer(t *testing.T, ss *sigstoretest.Sigstore, subject ocispec.Descriptor, logTime time.Time, withLog bool) ([]byte, ocispec.Descriptor) {
	t.Helper()
	payload, err := sign.SimpleSigningPayload(subject.Digest, sign.DefaultDockerReference)
	if err != nil {
		t.Fatal(err)
	}
	ent, err := ss.Virtual.SignAtTime(ciIdentity, ciIssuer, payload, logTime)
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := ent.SignatureContent()
	vc, _ := ent.VerificationContent()
	layer := sign.SignatureLayer(payload, base64.StdEncoding.EncodeToString(sc.Signature()))
	layer.Annotations[spec.CertificateAnnotation] = string(cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, vc.Certificate().Raw))
	if withLog {
		entries, _ := ent.TlogEntries()
		entry, _, err := ss.LogAt(entries[0].TransparencyLogEntry().GetCanonicalizedBody(), logTime)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := json.Marshal(cbundle.EntryToBundle(&entry))
		if err != nil {
			t.Fatal(err)
		}
		layer.Annotations[spec.RekorBundleAnnotation] = string(rb)
	}
	return payload, layer
}

func TestKeylessVirtualSigstoreTagFormat(t *testing.T) {
	ss := sigstoretest.New(t)
	tr := ss.TrustedRoot(t)
	store0, _ := testutil.NewLayout(t)
	subject := pushIdentity(t, store0, "minimal")
	verifyWith := func(payload []byte, layer ocispec.Descriptor) (*pull.SignatureReport, error) {
		store, _ := testutil.NewLayout(t)
		pushIdentity(t, store, "minimal")
		putTagSignature(t, store, subject, payload, layer)
		// The virtual Sigstore's own CA embeds no SCT.
		opts := keylessOpts(tr, ciPolicy)
		opts.IgnoreSCT = true
		return sigverify.VerifyKeyless(t.Context(), store, subject, opts)
	}

	t.Run("good", func(t *testing.T) {
		// The virtual Sigstore's certificate is valid from now for ten
		// minutes; its log saw the signature five minutes in.
		rep, err := verifyWith(virtualTagLayer(t, ss, subject, time.Now().Add(5*time.Minute), true))
		if err != nil || rep.Verified != 1 {
			t.Fatalf("err %v, report %+v", err, rep)
		}
	})
	t.Run("expired certificate", func(t *testing.T) {
		// Logged twenty minutes in: after the certificate expired, and
		// no timestamp says otherwise.
		rep, err := verifyWith(virtualTagLayer(t, ss, subject, time.Now().Add(20*time.Minute), true))
		wantKeylessFailure(t, rep, err, "certificate chain", "integrated time outside certificate validity")
	})
	t.Run("no proof of time", func(t *testing.T) {
		rep, err := verifyWith(virtualTagLayer(t, ss, subject, time.Now().Add(5*time.Minute), false))
		wantKeylessFailure(t, rep, err, "signing time", "threshold not met")
	})
	t.Run("log entry for another artifact", func(t *testing.T) {
		payload, layer := virtualTagLayer(t, ss, subject, time.Now().Add(5*time.Minute), true)
		other := pushIdentity(t, store0, "rag-agent")
		_, otherLayer := virtualTagLayer(t, ss, other, time.Now().Add(5*time.Minute), true)
		layer.Annotations[spec.RekorBundleAnnotation] = otherLayer.Annotations[spec.RekorBundleAnnotation]
		rep, err := verifyWith(payload, layer)
		wantKeylessFailure(t, rep, err, "transparency log", "signature does not match")
	})
	t.Run("key-signed", func(t *testing.T) {
		payload, layer := virtualTagLayer(t, ss, subject, time.Now().Add(5*time.Minute), true)
		delete(layer.Annotations, spec.CertificateAnnotation)
		rep, err := verifyWith(payload, layer)
		wantKeylessFailure(t, rep, err, "format", "not a keyless signature")
	})
}

func TestKeylessSignatureMovedFromAnotherIdentity(t *testing.T) {
	ss := sigstoretest.New(t)
	for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
		t.Run(string(format), func(t *testing.T) {
			store, _ := testutil.NewLayout(t)
			victim := pushIdentity(t, store, "minimal")
			signedByCI := pushIdentity(t, store, "rag-agent")
			res := signKeyless(t, ss, store, signedByCI, format)
			// Copy the signature manifest onto the victim, as its subject.
			b, err := content.FetchAll(t.Context(), store, res.Signature)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := sign.ParseManifest(b)
			if format == sign.SignatureFormatTag {
				payload, err := content.FetchAll(t.Context(), store, m.Layers[0])
				if err != nil {
					t.Fatal(err)
				}
				putTagSignature(t, store, victim, payload, m.Layers[0])
			} else {
				built, err := sign.BuildBundleManifest(m.Layers[0], victim, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := pack.PushBlobs(t.Context(), store, []pack.Blob{pack.BytesBlob("", built.ConfigDesc, built.Config)}, pack.PushBlobsOptions{}); err != nil {
					t.Fatal(err)
				}
				if _, err := oras.PushBytes(t.Context(), store, built.Descriptor.MediaType, built.Manifest); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := sigverify.VerifyKeyless(t.Context(), store, victim, keylessOpts(ss.TrustedRoot(t), ciPolicy))
			wantKeylessFailure(t, rep, err, "claim", signedByCI.Digest.String())
			// The signer is reported: the identity is right, the claim is not.
			if s := rep.Signatures[0].Signer; s == nil || s.Identity != ciIdentity {
				t.Errorf("signer %+v", s)
			}
		})
	}
}

func TestKeylessTamperedInclusionProof(t *testing.T) {
	ss := sigstoretest.New(t)
	store, _ := testutil.NewLayout(t)
	subject := pushIdentity(t, store, "minimal")
	res := signKeyless(t, ss, store, subject, sign.SignatureFormatBundle)
	b, err := content.FetchAll(t.Context(), store, res.Signature)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := sign.ParseManifest(b)
	bundle, err := content.FetchAll(t.Context(), store, m.Layers[0])
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(bundle, &doc); err != nil {
		t.Fatal(err)
	}
	proof := doc["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any)["inclusionProof"].(map[string]any)
	bogus := sha256.Sum256([]byte("another tree"))
	proof["rootHash"] = base64.StdEncoding.EncodeToString(bogus[:])
	tampered, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}

	// Replace the good signature with the tampered one.
	store2, _ := testutil.NewLayout(t)
	subject2 := pushIdentity(t, store2, "minimal")
	if subject2.Digest != subject.Digest {
		t.Fatal("identities differ")
	}
	layer := ocispec.Descriptor{MediaType: spec.BundleMediaType, Digest: digest.FromBytes(tampered), Size: int64(len(tampered))}
	built, err := sign.BuildBundleManifest(layer, subject2, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.PushBlobs(t.Context(), store2, []pack.Blob{pack.BytesBlob("", layer, tampered), pack.BytesBlob("", built.ConfigDesc, built.Config)}, pack.PushBlobsOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := oras.PushBytes(t.Context(), store2, built.Descriptor.MediaType, built.Manifest); err != nil {
		t.Fatal(err)
	}
	rep, err := sigverify.VerifyKeyless(t.Context(), store2, subject2, keylessOpts(ss.TrustedRoot(t), ciPolicy))
	wantKeylessFailure(t, rep, err, "transparency log", "calculated root")
}

func TestKeylessKeySignedBundleIsNotKeyless(t *testing.T) {
	ss := sigstoretest.New(t)
	store, _ := testutil.NewLayout(t)
	subject := pushIdentity(t, store, "minimal")
	signRef(t, store, subject, testutil.Key(t), sign.SignatureFormatBundle)
	rep, err := sigverify.VerifyKeyless(t.Context(), store, subject, keylessOpts(ss.TrustedRoot(t), ciPolicy))
	wantKeylessFailure(t, rep, err, "format", "--key")
}

// TestKeylessTrustedRootFile round-trips the trusted root through the JSON
// file that --trusted-root reads.
func TestKeylessTrustedRootFile(t *testing.T) {
	ss := sigstoretest.New(t)
	store, _ := testutil.NewLayout(t)
	subject := pushIdentity(t, store, "minimal")
	signKeyless(t, ss, store, subject, sign.SignatureFormatTag)
	tr, err := sigverify.LoadTrustedRoot(ss.WriteTrustedRoot(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	v := sigverify.KeylessVerifier{KeylessOptions: keylessOpts(tr, ciPolicy)}
	rep, err := pull.Verify(t.Context(), store, subject.Digest.String(), pull.VerifyOptions{Signatures: v})
	if err != nil || !rep.Verified || rep.Signatures == nil || rep.Signatures.Verified != 1 {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	for _, bad := range []string{t.TempDir(), "/nonexistent/trusted_root.json"} {
		if _, err := sigverify.LoadTrustedRoot(bad); !errors.Is(err, sigverify.ErrTrustedRoot) {
			t.Errorf("%s: err %v, want ErrTrustedRoot", bad, err)
		}
	}
}

// TestKeylessChain: an output record and its identity, both signed
// keylessly (the identity by the CI identity, the record by another), verify
// as a chain, each against its own identity policy; a record signed by the
// wrong identity breaks the chain.
func TestKeylessChain(t *testing.T) {
	ss := sigstoretest.New(t)
	tr := ss.TrustedRoot(t)
	store, _ := testutil.NewLayout(t)
	identity := pushIdentity(t, store, "minimal")
	signKeyless(t, ss, store, identity, sign.SignatureFormatTag)
	record := attachRecord(t, store, identity)
	const producer = "producer@runid.example"
	if _, err := sign.SignKeyless(t.Context(), store, record.Digest.String(), sign.KeylessOptions{
		FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, IdentityToken: sigstoretest.Token(producer, ciIssuer),
		Sign: sign.SignOptions{Format: sign.SignatureFormatBundle},
	}); err != nil {
		t.Fatal(err)
	}
	opts := pull.VerifyOptions{
		Signatures:         sigverify.KeylessVerifier{KeylessOptions: keylessOpts(tr, sigverify.Identity{Subject: producer, Issuer: ciIssuer})},
		IdentitySignatures: sigverify.KeylessVerifier{KeylessOptions: keylessOpts(tr, ciPolicy)},
	}
	rep, err := pull.Verify(t.Context(), store, record.Digest.String(), opts)
	if err != nil || !rep.Verified || len(rep.Chain) != 2 {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	for _, l := range rep.Chain {
		if !l.Verified || l.Signatures == nil || l.Signatures.Verified != 1 || l.Signatures.Keyless == "" {
			t.Errorf("chain link %+v", l)
		}
	}
	// The record checked against the CI identity's policy does not verify.
	opts.Signatures = opts.IdentitySignatures
	rep, err = pull.Verify(t.Context(), store, record.Digest.String(), opts)
	if !errors.Is(err, pull.ErrVerification) || rep == nil || rep.Verified {
		t.Fatalf("err %v, want a verification failure", err)
	}
	if !strings.Contains(fmt.Sprint(err), "identity: ") {
		t.Errorf("err %v does not name the identity check", err)
	}
}
