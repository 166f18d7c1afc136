package sigverify_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/internal/sigstoretest"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// attestKeyless attests artifact as produced by the identity idRef in
// target, signed keylessly against ss as signer.
func attestKeyless(t testing.TB, ss *sigstoretest.Sigstore, target oras.Target, artifact ocispec.Descriptor, idRef, signer, predicate string, format sign.SignatureFormat) *attest.Result {
	t.Helper()
	res, err := attest.AttestKeyless(t.Context(), target, artifact.Digest.String(), idRef,
		sign.KeylessOptions{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, IdentityToken: sigstoretest.Token(signer, ciIssuer)},
		attest.Options{Repository: "registry.example/runs", Statement: attest.StatementOptions{Predicate: predicate}, Sign: sign.SignOptions{Format: format}})
	if err != nil {
		t.Fatalf("attest keylessly: %v", err)
	}
	return res
}

func verifyKeylessAttestations(t testing.TB, src oras.ReadOnlyTarget, artifact ocispec.Descriptor, tr root.TrustedMaterial, id sigverify.Identity, opts sigverify.AttestationOptions) (*sigverify.AttestationReport, error) {
	t.Helper()
	return sigverify.VerifyKeylessAttestations(t.Context(), src, artifact.Digest.String(), keylessOpts(tr, id), opts)
}

// TestKeylessAttestationsEverywhere: keyless attestations of both predicate
// types, in both storage formats, in a layout, a layout tar and on
// registries with and without the referrers API, verify against the trusted
// root with the identity they name; the signer is reported; they are not
// taken for signatures of the artifact; a key does not verify them, nor
// does another identity.
func TestKeylessAttestationsEverywhere(t *testing.T) {
	ss := sigstoretest.New(t)
	tr := ss.TrustedRoot(t)
	for _, src := range sources {
		for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
			t.Run(src.Name+"/"+string(format), func(t *testing.T) {
				var artifact, id ocispec.Descriptor
				var made []*attest.Result
				store := src.Open(t, func(target oras.Target) {
					id = pushIdentity(t, target, "minimal")
					artifact = pushArtifact(t, target, "# report\n")
					for _, p := range []string{attest.PredicateRun, attest.PredicateSLSA} {
						made = append(made, attestKeyless(t, ss, target, artifact, id.Digest.String(), ciIdentity, p, format))
					}
				})
				for _, r := range made {
					if r.Signer != ciIdentity+" ("+ciIssuer+")" || r.KeyID != "" || r.Format != format {
						t.Errorf("attest result %+v", r.AttestationResult)
					}
				}
				rep, err := verifyKeylessAttestations(t, store, artifact, tr, ciPolicy, sigverify.AttestationOptions{})
				if err != nil {
					t.Fatalf("verify: %v (report %+v)", err, rep)
				}
				if rep.Verified != 2 || rep.KeyID != "" || rep.Keyless != ciPolicy.String() || len(rep.Runs) != 1 || !rep.Runs[0].Verified || rep.Runs[0].Digest != id.Digest {
					t.Fatalf("report %+v", rep)
				}
				for _, a := range rep.Attestations {
					if a.Signer == nil || a.Signer.Identity != ciIdentity || a.Signer.Issuer != ciIssuer || len(a.Signer.SigningTimes) == 0 {
						t.Errorf("attestation %+v: signer %+v", a, a.Signer)
					}
				}
				// Not signatures of the artifact.
				if srep, err := sigverify.VerifyKeyless(t.Context(), store, artifact, keylessOpts(tr, ciPolicy)); err == nil {
					t.Errorf("a keyless attestation was taken for a signature: %+v", srep)
				}
				// Another identity.
				rep, err = verifyKeylessAttestations(t, store, artifact, tr, sigverify.Identity{Subject: "attacker@runid.example", Issuer: ciIssuer}, sigverify.AttestationOptions{})
				attestationProblems(t, rep, err, "identity: ")
				// A key verifies none of them.
				pub, _ := sigverify.LoadPublicKey(publicPEM(t, testutil.Key(t)))
				rep, err = sigverify.VerifyAttestations(t.Context(), store, artifact.Digest.String(), pub, sigverify.AttestationOptions{})
				testutil.WantVerificationError(t, err)
				if rep.Verified != 0 {
					t.Errorf("a key verified a keyless attestation: %+v", rep)
				}
			})
		}
	}
}

// TestKeylessAttestationChain: the attestation, and the identity it names
// signed keylessly by another identity, verify together when the identity's
// signature is required (AttestationOptions.Verify.Signatures); an identity
// signed by no one, or by the wrong identity, breaks the chain.
func TestKeylessAttestationChain(t *testing.T) {
	ss := sigstoretest.New(t)
	tr := ss.TrustedRoot(t)
	store, _ := testutil.NewLayout(t)
	id := pushIdentity(t, store, "minimal")
	artifact := pushArtifact(t, store, "# report\n")
	const producer = "producer@runid.example"
	attestKeyless(t, ss, store, artifact, id.Digest.String(), producer, attest.PredicateRun, sign.SignatureFormatBundle)
	producerPolicy := sigverify.Identity{Subject: producer, Issuer: ciIssuer}
	requireCI := sigverify.AttestationOptions{Verify: pull.VerifyOptions{Signatures: sigverify.KeylessVerifier{KeylessOptions: keylessOpts(tr, ciPolicy)}}}

	rep, err := verifyKeylessAttestations(t, store, artifact, tr, producerPolicy, requireCI)
	attestationProblems(t, rep, err, "the run it names does not verify")

	signKeyless(t, ss, store, id, sign.SignatureFormatTag)
	rep, err = verifyKeylessAttestations(t, store, artifact, tr, producerPolicy, requireCI)
	if err != nil || rep.Verified != 1 || len(rep.Runs) != 1 || rep.Runs[0].Signatures == nil || rep.Runs[0].Signatures.Verified != 1 {
		t.Fatalf("err %v, report %+v", err, rep)
	}
	requireProducer := sigverify.AttestationOptions{Verify: pull.VerifyOptions{Signatures: sigverify.KeylessVerifier{KeylessOptions: keylessOpts(tr, producerPolicy)}}}
	rep, err = verifyKeylessAttestations(t, store, artifact, tr, producerPolicy, requireProducer)
	attestationProblems(t, rep, err, "the run it names does not verify")
}

// keylessAttLayer returns the layer and envelope of the tag-format
// attestation of subject.
func keylessAttLayer(t *testing.T, store oras.ReadOnlyTarget, subject ocispec.Descriptor) (ocispec.Descriptor, []byte) {
	t.Helper()
	attTag, _ := sign.AttestationTag(subject.Digest)
	d, err := store.Resolve(t.Context(), attTag)
	if err != nil {
		t.Fatal(err)
	}
	b, err := content.FetchAll(t.Context(), store, d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sign.ParseManifest(b)
	if err != nil || len(m.Layers) != 1 {
		t.Fatalf("attestation manifest: %v, %d layers", err, len(m.Layers))
	}
	env, err := content.FetchAll(t.Context(), store, m.Layers[0])
	if err != nil {
		t.Fatal(err)
	}
	return m.Layers[0], env
}

// putAttLayer replaces the .att manifest of subject with one holding layer
// over envelope.
func putAttLayer(t *testing.T, store oras.Target, subject ocispec.Descriptor, envelope []byte, layer ocispec.Descriptor) {
	t.Helper()
	attTag, _ := sign.AttestationTag(subject.Digest)
	putTagLayer(t, store, subject, envelope, layer, sign.BuildAttestationTagManifest, attTag)
}

// TestKeylessAttestationsHostile: keyless attestations that must not
// verify are refused, each with the check that failed.
func TestKeylessAttestationsHostile(t *testing.T) {
	ss := sigstoretest.New(t)
	tr := ss.TrustedRoot(t)
	type tampered struct {
		name  string
		check string // the check that fails
		want  string
		// edit changes the good layer and envelope of an attestation
		// about artifact; other is a second artifact with its own good
		// attestation.
		edit func(t *testing.T, layer *ocispec.Descriptor, env []byte, otherLayer ocispec.Descriptor, otherEnv []byte) []byte
	}
	for _, c := range []tampered{
		{"moved from another artifact", "claim", "names another manifest", func(t *testing.T, layer *ocispec.Descriptor, env []byte, otherLayer ocispec.Descriptor, otherEnv []byte) []byte {
			*layer = otherLayer
			return otherEnv
		}},
		{"log entry of another attestation", "transparency log", "signature does not match", func(t *testing.T, layer *ocispec.Descriptor, env []byte, otherLayer ocispec.Descriptor, otherEnv []byte) []byte {
			layer.Annotations[spec.RekorBundleAnnotation] = otherLayer.Annotations[spec.RekorBundleAnnotation]
			return env
		}},
		{"certificate of another attestation", "transparency log", "certificate does not match", func(t *testing.T, layer *ocispec.Descriptor, env []byte, otherLayer ocispec.Descriptor, otherEnv []byte) []byte {
			layer.Annotations[spec.CertificateAnnotation] = otherLayer.Annotations[spec.CertificateAnnotation]
			return env
		}},
		{"no log entry", "signing time", "threshold not met", func(t *testing.T, layer *ocispec.Descriptor, env []byte, otherLayer ocispec.Descriptor, otherEnv []byte) []byte {
			delete(layer.Annotations, spec.RekorBundleAnnotation)
			return env
		}},
		{"no certificate", "format", "not a keyless signature", func(t *testing.T, layer *ocispec.Descriptor, env []byte, otherLayer ocispec.Descriptor, otherEnv []byte) []byte {
			delete(layer.Annotations, spec.CertificateAnnotation)
			return env
		}},
		{"second signature", "format", "exactly one", func(t *testing.T, layer *ocispec.Descriptor, env []byte, otherLayer ocispec.Descriptor, otherEnv []byte) []byte {
			var e map[string]any
			if err := json.Unmarshal(env, &e); err != nil {
				t.Fatal(err)
			}
			sigs := e["signatures"].([]any)
			e["signatures"] = append(sigs, map[string]any{"sig": base64.StdEncoding.EncodeToString([]byte("not a signature"))})
			b, _ := json.Marshal(e)
			return b
		}},
		{"altered statement", "signature", "could not verify envelope", func(t *testing.T, layer *ocispec.Descriptor, env []byte, otherLayer ocispec.Descriptor, otherEnv []byte) []byte {
			var e map[string]any
			if err := json.Unmarshal(env, &e); err != nil {
				t.Fatal(err)
			}
			stmt, _ := base64.StdEncoding.DecodeString(e["payload"].(string))
			e["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(stmt), "registry.example/runs", "registry.example/evil", 1)))
			b, _ := json.Marshal(e)
			return b
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			good, _ := testutil.NewLayout(t)
			id := pushIdentity(t, good, "minimal")
			artifact := pushArtifact(t, good, "# report\n")
			other := pushArtifact(t, good, "# another report\n")
			attestKeyless(t, ss, good, artifact, id.Digest.String(), ciIdentity, attest.PredicateRun, sign.SignatureFormatTag)
			attestKeyless(t, ss, good, other, id.Digest.String(), ciIdentity, attest.PredicateRun, sign.SignatureFormatTag)
			layer, env := keylessAttLayer(t, good, artifact)
			otherLayer, otherEnv := keylessAttLayer(t, good, other)
			env = c.edit(t, &layer, env, otherLayer, otherEnv)
			layer.Digest, layer.Size = digest.FromBytes(env), int64(len(env))
			// The identity and the artifact without their attestations,
			// and the tampered one.
			store, _ := testutil.NewLayout(t)
			for _, d := range []ocispec.Descriptor{id, artifact} {
				if _, err := oras.Copy(t.Context(), good, d.Digest.String(), store, d.Digest.String(), oras.DefaultCopyOptions); err != nil {
					t.Fatal(err)
				}
			}
			putAttLayer(t, store, artifact, env, layer)
			rep, err := verifyKeylessAttestations(t, store, artifact, tr, ciPolicy, sigverify.AttestationOptions{})
			testutil.WantVerificationError(t, err)
			if rep == nil || rep.Verified != 0 || len(rep.Attestations) != 1 {
				t.Fatalf("report %+v, want one attestation, not verified", rep)
			}
			reason := rep.Attestations[0].Reason
			if !strings.HasPrefix(reason, c.check) || !strings.Contains(reason, c.want) {
				t.Errorf("reason %q, want the check %q failing with %q", reason, c.check, c.want)
			}
		})
	}

	t.Run("untrusted CA", func(t *testing.T) {
		for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
			store, _ := testutil.NewLayout(t)
			id := pushIdentity(t, store, "minimal")
			artifact := pushArtifact(t, store, "# report\n")
			attestKeyless(t, ss, store, artifact, id.Digest.String(), ciIdentity, attest.PredicateRun, format)
			rep, err := verifyKeylessAttestations(t, store, artifact, ss.TrustedRootVirtualFulcio(t), ciPolicy, sigverify.AttestationOptions{})
			attestationProblems(t, rep, err, "certificate chain: ")
		}
	})
	t.Run("key-signed", func(t *testing.T) {
		store, _ := testutil.NewLayout(t)
		id := pushIdentity(t, store, "minimal")
		artifact := pushArtifact(t, store, "# report\n")
		attestRun(t, store, artifact, id.Digest.String(), testutil.Key(t), attest.PredicateRun, sign.SignatureFormatBundle)
		rep, err := verifyKeylessAttestations(t, store, artifact, tr, ciPolicy, sigverify.AttestationOptions{})
		attestationProblems(t, rep, err, "format: ")
	})
}
