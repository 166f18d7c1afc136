package sigverify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// pushArtifact pushes a small artifact that is not an identity (something a
// run produced, such as a report) and returns its descriptor.
func pushArtifact(t testing.TB, target oras.Target, text string) ocispec.Descriptor {
	t.Helper()
	layer, err := oras.PushBytes(t.Context(), target, "text/markdown", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	d, err := oras.PackManifest(t.Context(), target, oras.PackManifestVersion1_1, "application/vnd.example.report",
		oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// attestRun attests artifact as produced by the identity idRef in target.
func attestRun(t testing.TB, target oras.Target, artifact ocispec.Descriptor, idRef string, sv signature.SignerVerifier, predicate string, format sign.SignatureFormat) *attest.Result {
	t.Helper()
	res, err := attest.Attest(t.Context(), target, artifact.Digest.String(), idRef, sv, attest.Options{
		Repository: "registry.example/runs",
		Statement:  attest.StatementOptions{Predicate: predicate},
		Sign:       sign.SignOptions{Format: format, Created: timeZero},
	})
	if err != nil {
		t.Fatalf("attest: %v", err)
	}
	return res
}

func attestationProblems(t *testing.T, rep *sigverify.AttestationReport, err error, want string) {
	t.Helper()
	probs := testutil.WantVerificationError(t, err).Problems
	for _, p := range probs {
		if strings.Contains(p.Msg, want) {
			return
		}
	}
	t.Fatalf("no problem says %q: %v (report %+v)", want, probs, rep)
}

// TestVerifyAttestationsRoundTrip: attestations made by pack/attest, of both
// predicate kinds, in both storage formats, on registries with and without
// the referrers API and in a layout, verify, with the identity all the way
// down; with another key they do not.
func TestVerifyAttestationsRoundTrip(t *testing.T) {
	sv, other := testutil.Key(t), testutil.Key(t)
	type store struct {
		name   string
		target func(t *testing.T) oras.Target
	}
	stores := []store{{"oci-layout", func(t *testing.T) oras.Target { s, _ := testutil.NewLayout(t); return s }}}
	for _, reg := range registries {
		stores = append(stores, store{reg.Name, func(t *testing.T) oras.Target {
			r := testregistry.Serve(t, reg.Handler(t))
			return testregistry.Repository(t, r, repoName)
		}})
	}
	for _, st := range stores {
		for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
			t.Run(st.name+"/"+string(format), func(t *testing.T) {
				target := st.target(t)
				id := pushIdentity(t, target, "minimal")
				artifact := pushArtifact(t, target, "# report\n")
				run := attestRun(t, target, artifact, id.Digest.String(), sv, attest.PredicateRun, format)
				slsa := attestRun(t, target, artifact, tag, sv, attest.PredicateSLSA, format)
				if run.Identity.Digest != id.Digest || run.PredicateType != spec.RunPredicateType || slsa.PredicateType != spec.SLSAProvenancePredicateType {
					t.Fatalf("results %+v %+v", run, slsa)
				}
				if format == sign.SignatureFormatTag && (slsa.Tag == "" || slsa.Attestations != 2 || slsa.Attestation.ArtifactType != sign.AttestationArtifactType) {
					t.Errorf("tag format: %+v", slsa.AttestationResult)
				}
				pub, err := sigverify.LoadPublicKey(publicPEM(t, sv))
				if err != nil {
					t.Fatal(err)
				}
				rep, err := sigverify.VerifyAttestations(t.Context(), target, artifact.Digest.String(), pub, sigverify.AttestationOptions{})
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if rep.Verified != 2 || len(rep.Runs) != 1 || !rep.Runs[0].Verified || rep.Runs[0].Digest != id.Digest {
					t.Fatalf("report %+v", rep)
				}
				// Filtered by predicate type.
				rep, err = sigverify.VerifyAttestations(t.Context(), target, artifact.Digest.String(), pub, sigverify.AttestationOptions{PredicateType: spec.SLSAProvenancePredicateType})
				if err != nil || rep.Verified != 1 || rep.Attestations[0].PredicateType != spec.SLSAProvenancePredicateType {
					t.Fatalf("slsa only: %v %+v", err, rep)
				}
				// Attestations are not signatures of the artifact.
				if _, err := sigverify.VerifySignatures(t.Context(), target, artifact, pub, sigverify.Options{}); err == nil {
					t.Error("an attestation was taken for a signature")
				}
				// Another key.
				otherPub, _ := sigverify.LoadPublicKey(publicPEM(t, other))
				rep, err = sigverify.VerifyAttestations(t.Context(), target, artifact.Digest.String(), otherPub, sigverify.AttestationOptions{})
				attestationProblems(t, rep, err, "does not verify with the key")
			})
		}
	}
}

func publicPEM(t testing.TB, sv signature.SignerVerifier) []byte {
	t.Helper()
	pub, err := sv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := cryptoutilsMarshal(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// storeEnvelope puts envelope in the .att manifest of subject, as a
// hostile or broken writer could.
func storeEnvelope(t testing.TB, target oras.Target, subject ocispec.Descriptor, envelope []byte, predicateType string) {
	t.Helper()
	ctx := t.Context()
	layer := sign.AttestationLayer(envelope, predicateType)
	if _, err := oras.PushBytes(ctx, target, layer.MediaType, envelope); err != nil {
		t.Fatal(err)
	}
	built, err := sign.BuildAttestationTagManifest([]ocispec.Descriptor{layer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oras.PushBytes(ctx, target, built.ConfigDesc.MediaType, built.Config); err != nil {
		t.Fatal(err)
	}
	attTag, _ := sign.AttestationTag(subject.Digest)
	if _, err := oras.TagBytes(ctx, target, built.Descriptor.MediaType, built.Manifest, attTag); err != nil {
		t.Fatal(err)
	}
}

// statementFor builds the run statement about subject naming the identity
// id.
func statementFor(t testing.TB, subject ocispec.Descriptor, id *spec.Identity) []byte {
	t.Helper()
	b, err := attest.Statement(subject, id, "registry.example/runs", nil, attest.StatementOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readSpecIdentity(t testing.TB, target oras.ReadOnlyTarget, ref string) *spec.Identity {
	t.Helper()
	id, err := referrer.ReadIdentity(t.Context(), target, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestVerifyAttestationsBad: each attestation that must not verify is
// refused with its reason (a *VerificationError: exit 3).
func TestVerifyAttestationsBad(t *testing.T) {
	sv, other := testutil.Key(t), testutil.Key(t)
	pub, err := sigverify.LoadPublicKey(publicPEM(t, sv))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		make func(t *testing.T, target oras.Target, dir string, artifact ocispec.Descriptor)
		want string
	}{
		{"no attestation", func(*testing.T, oras.Target, string, ocispec.Descriptor) {}, "no run attestations found"},
		{"subject of another artifact", func(t *testing.T, target oras.Target, _ string, artifact ocispec.Descriptor) {
			another := pushArtifact(t, target, "another report")
			attestRun(t, target, another, tag, sv, attest.PredicateRun, sign.SignatureFormatTag)
			// Copy the other artifact's attestation onto this one.
			anotherTag, _ := sign.AttestationTag(another.Digest)
			d, b, err := oras.FetchBytes(ctx, target, anotherTag, oras.DefaultFetchBytesOptions)
			if err != nil {
				t.Fatal(err)
			}
			thisTag, _ := sign.AttestationTag(artifact.Digest)
			if _, err := oras.TagBytes(ctx, target, d.MediaType, b, thisTag); err != nil {
				t.Fatal(err)
			}
		}, "names another manifest"},
		{"signed by another key", func(t *testing.T, target oras.Target, _ string, artifact ocispec.Descriptor) {
			attestRun(t, target, artifact, tag, other, attest.PredicateRun, sign.SignatureFormatBundle)
		}, "does not verify with the key"},
		{"identity that does not exist", func(t *testing.T, target oras.Target, _ string, artifact ocispec.Descriptor) {
			dir := filepath.Join("..", "..", "spec", "vectors", "rag-agent")
			id, err := spec.ParseIdentity(testutil.ReadFile(t, filepath.Join(dir, "manifest.json")), testutil.ReadFile(t, filepath.Join(dir, "identity.json")))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sign.SignStatement(ctx, target, artifact, statementFor(t, artifact, id), sv, sign.SignOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "the run it names does not verify"},
		{"identity that does not verify", func(t *testing.T, target oras.Target, dir string, artifact ocispec.Descriptor) {
			id := readSpecIdentity(t, target, tag)
			attestRun(t, target, artifact, tag, sv, attest.PredicateSLSA, sign.SignatureFormatTag)
			testutil.TamperBlob(t, dir, id.Manifest.Layers[0].Digest)
		}, "blob-digest"},
		{"two signatures, one bad", func(t *testing.T, target oras.Target, _ string, artifact ocispec.Descriptor) {
			stmt := statementFor(t, artifact, readSpecIdentity(t, target, tag))
			good, err := sign.SignDSSE(ctx, sv, stmt)
			if err != nil {
				t.Fatal(err)
			}
			bad, err := sign.SignDSSE(ctx, other, stmt)
			if err != nil {
				t.Fatal(err)
			}
			var env, envBad dsse.Envelope
			if err := json.Unmarshal(good, &env); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(bad, &envBad); err != nil {
				t.Fatal(err)
			}
			env.Signatures = append(env.Signatures, envBad.Signatures...)
			b, _ := json.Marshal(env)
			storeEnvelope(t, target, artifact, b, spec.RunPredicateType)
		}, "DSSE signature 2 of 2"},
		{"payload type not in-toto", func(t *testing.T, target oras.Target, _ string, artifact ocispec.Descriptor) {
			stmt := statementFor(t, artifact, readSpecIdentity(t, target, tag))
			sig, err := sv.SignMessage(strings.NewReader(string(dsse.PAE("application/json", stmt))))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(dsse.Envelope{PayloadType: "application/json", Payload: base64.StdEncoding.EncodeToString(stmt),
				Signatures: []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}}})
			storeEnvelope(t, target, artifact, b, spec.RunPredicateType)
		}, "is not an in-toto statement"},
		{"statement that is not valid in-toto", func(t *testing.T, target oras.Target, _ string, artifact ocispec.Descriptor) {
			stmt := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + artifact.Digest.Encoded() + `"}}],"predicateType":"` + spec.RunPredicateType + `"}`)
			env, err := sign.SignDSSE(ctx, sv, stmt)
			if err != nil {
				t.Fatal(err)
			}
			storeEnvelope(t, target, artifact, env, spec.RunPredicateType)
		}, "predicate object required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, dir := testutil.NewLayout(t)
			pushIdentity(t, target, "minimal")
			artifact := pushArtifact(t, target, "# report\n")
			tc.make(t, target, dir, artifact)
			rep, err := sigverify.VerifyAttestations(ctx, target, artifact.Digest.String(), pub, sigverify.AttestationOptions{})
			attestationProblems(t, rep, err, tc.want)
		})
	}
}

// TestVerifyAttestationsLayoutTarOffline: attest in a layout, carry it as a
// tar file, and verify it with nothing but the public key.
func TestVerifyAttestationsLayoutTarOffline(t *testing.T) {
	sv := testutil.Key(t)
	store, dir := testutil.NewLayout(t)
	pushIdentity(t, store, "rag-agent")
	artifact := pushArtifact(t, store, "# model card\n")
	attestRun(t, store, artifact, tag, sv, attest.PredicateRun, sign.SignatureFormatTag)
	attestRun(t, store, artifact, tag, sv, attest.PredicateSLSA, sign.SignatureFormatBundle)
	tarred := testutil.TarLayout(t, dir)
	pubFile := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pubFile, publicPEM(t, sv), 0o644); err != nil {
		t.Fatal(err)
	}
	pub, err := sigverify.LoadPublicKeyFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sigverify.VerifyAttestations(context.Background(), tarred, artifact.Digest.String(), pub, sigverify.AttestationOptions{})
	if err != nil || rep.Verified != 2 {
		t.Fatalf("%v %+v", err, rep)
	}
}

func cryptoutilsMarshal(pub any) ([]byte, error) { return cryptoutils.MarshalPublicKeyToPEM(pub) }
