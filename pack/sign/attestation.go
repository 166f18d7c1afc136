package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"

	"github.com/runid/runid-oci/spec"
)

// Attestations as cosign v2.6.5 stores them: "cosign attest" writes DSSE
// envelopes as layers of a manifest tagged "sha256-<hex>.att";
// "cosign attest --new-bundle-format" writes a Sigstore bundle referrer
// whose dev.sigstore.bundle.predicateType annotation is the predicate type.
const (
	// DSSEMediaType is the media type of a tag-format attestation layer: a
	// DSSE envelope (JSON) over an in-toto statement.
	DSSEMediaType = "application/vnd.dsse.envelope.v1+json"
	// PredicateTypeAnnotation holds the statement's predicate type on a
	// tag-format attestation layer.
	PredicateTypeAnnotation = "predicateType"
	// AttestationArtifactType is the artifactType runid-oci gives a
	// tag-format attestation manifest that has a subject (cosign's OCI 1.1
	// artifact type for attestations).
	AttestationArtifactType = "application/vnd.dev.cosign.artifact.att.v1+json"
)

// AttestationTag returns cosign's tag for the attestations of the manifest
// d: "sha256-<hex>.att".
func AttestationTag(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("attestation tag for %q: %w", d, err)
	}
	return d.Algorithm().String() + "-" + d.Encoded() + ".att", nil
}

// AttestationLayer returns the descriptor of a tag-format attestation layer:
// the DSSE envelope blob, with the predicate type and the empty signature
// annotation cosign writes (the signature is inside the envelope).
func AttestationLayer(envelope []byte, predicateType string) ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType: DSSEMediaType,
		Digest:    digest.FromBytes(envelope),
		Size:      int64(len(envelope)),
		Annotations: map[string]string{
			spec.SignatureAnnotation: "",
			PredicateTypeAnnotation:  predicateType,
		},
	}
}

// SignDSSE signs statement (an in-toto statement) as "cosign attest" does:
// a DSSE envelope of payload type spec.InTotoPayloadType, one signature over the
// pre-authentication encoding. It returns the envelope JSON.
func SignDSSE(ctx context.Context, sv signature.SignerVerifier, statement []byte) ([]byte, error) {
	env, err := dsse.WrapSigner(sv, spec.InTotoPayloadType).SignMessage(bytes.NewReader(statement), sigopts.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign DSSE envelope: %w", err)
	}
	return env, nil
}

// NewStatementBundle signs statement in a Sigstore bundle v0.3 holding a DSSE
// envelope, as "cosign attest --new-bundle-format --key K
// --tlog-upload=false" does; the verification material is the key's hint.
func NewStatementBundle(ctx context.Context, sv signature.SignerVerifier, statement []byte) ([]byte, error) {
	envelope, err := SignDSSE(ctx, sv, statement)
	if err != nil {
		return nil, err
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	b, err := cbundle.MakeNewBundle(pub, nil, statement, envelope, pubPEM, nil)
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	return b, nil
}

// BuildAttestationBundleManifest builds a bundle-format attestation referrer
// as "cosign attest --new-bundle-format" writes it: BuildBundleManifest with
// predicateType in the dev.sigstore.bundle.predicateType annotation.
func BuildAttestationBundleManifest(bundle, subject ocispec.Descriptor, created time.Time, predicateType string) (Built, error) {
	return buildBundleManifest(bundle, subject, created, predicateType)
}

// VerifyDSSE checks a DSSE envelope (the blob of a tag-format attestation
// layer) with the key v and returns its payload, the in-toto statement:
//
//   - the payload type must be spec.InTotoPayloadType (ErrMalformedPayload);
//   - the statement's subjects must include want (*ClaimError);
//   - the envelope must hold at least one signature, and every signature
//     must be well formed (ErrMalformedSignature) and verify with v over
//     the pre-authentication encoding (ErrBadSignature): an envelope with
//     one good and one bad signature does not verify.
func VerifyDSSE(envelope []byte, v signature.Verifier, want digest.Digest) ([]byte, error) {
	var env ssldsse.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("%w: DSSE envelope: %v", ErrMalformedPayload, err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: DSSE payload is not base64: %v", ErrMalformedPayload, err)
	}
	sigs := make([][]byte, len(env.Signatures))
	for i, s := range env.Signatures {
		if sigs[i], err = DecodeSignature(s.Sig); err != nil {
			return nil, fmt.Errorf("DSSE signature %d of %d: %w", i+1, len(env.Signatures), err)
		}
	}
	if err := verifyDSSE(env.PayloadType, payload, sigs, v, want); err != nil {
		return nil, err
	}
	// The same check through sigstore's DSSE verifier, which cosign uses.
	if err := dsse.WrapVerifier(v).VerifySignature(bytes.NewReader(envelope), nil); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return payload, nil
}

// VerifyStatementBundle checks a bundle-format attestation (a Sigstore
// bundle holding a DSSE envelope) with the key v, as VerifyDSSE checks an
// envelope, and then through sigstore-go's verifier; it returns the
// statement. A bundle signed with a certificate, or holding a message
// signature instead of an envelope, does not verify.
func VerifyStatementBundle(b []byte, v signature.Verifier, want digest.Digest) ([]byte, error) {
	bundle, err := ParseBundle(b)
	if err != nil {
		return nil, err
	}
	c, ok := bundle.GetContent().(*protobundle.Bundle_DsseEnvelope)
	if !ok {
		return nil, fmt.Errorf("%w: no DSSE envelope (an attestation bundle holds one)", ErrMalformedBundle)
	}
	env := c.DsseEnvelope
	sigs := make([][]byte, len(env.GetSignatures()))
	for i, s := range env.GetSignatures() {
		sigs[i] = s.GetSig()
	}
	if err := verifyDSSE(env.GetPayloadType(), env.GetPayload(), sigs, v, want); err != nil {
		return nil, err
	}
	if err := verifyBundle(b, v, want, false); err != nil {
		return nil, err
	}
	return env.GetPayload(), nil
}

func verifyDSSE(payloadType string, payload []byte, sigs [][]byte, v signature.Verifier, want digest.Digest) error {
	if payloadType != spec.InTotoPayloadType {
		return fmt.Errorf("%w: DSSE payload type %q is not an in-toto statement (%s)", ErrMalformedPayload, payloadType, spec.InTotoPayloadType)
	}
	if err := CheckInTotoStatement(payload, want); err != nil {
		return err
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: the DSSE envelope has no signature", ErrMalformedSignature)
	}
	pae := ssldsse.PAE(payloadType, payload)
	for i, sig := range sigs {
		if len(sig) == 0 {
			return fmt.Errorf("DSSE signature %d of %d: %w: empty", i+1, len(sigs), ErrMalformedSignature)
		}
		if err := checkEncoding(v, sig); err != nil {
			return fmt.Errorf("DSSE signature %d of %d: %w", i+1, len(sigs), err)
		}
		if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(pae)); err != nil {
			return fmt.Errorf("DSSE signature %d of %d: %w: %v", i+1, len(sigs), ErrBadSignature, err)
		}
	}
	return nil
}

// StatementPredicateType returns the predicateType of an in-toto statement,
// or "" when stmt is not one.
func StatementPredicateType(stmt []byte) string {
	var st inTotoStatement
	if json.Unmarshal(stmt, &st) != nil {
		return ""
	}
	return st.PredicateType
}

// MayHoldAttestations reports whether a referrer with this artifactType may
// hold attestations and is worth fetching: bundles, cosign's attestation
// artifact types, and the config media types registries report when the
// artifactType is lost.
func MayHoldAttestations(artifactType string) bool {
	switch artifactType {
	case spec.BundleMediaType, AttestationArtifactType, spec.InTotoPayloadType, DSSEMediaType,
		spec.EmptyConfigMediaType, spec.SignatureConfigMediaType, "":
		return true
	}
	return false
}
