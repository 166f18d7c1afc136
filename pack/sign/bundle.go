package sign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/runid/runid-oci/spec"
)

// NewBundle signs the manifest d in the bundle format, as "cosign sign
// --new-bundle-format --key K --tlog-upload=false" does: a DSSE envelope
// (payload type spec.InTotoPayloadType) over InTotoStatement(d), in a Sigstore
// bundle v0.3 whose verification material is the key's hint (base64
// SHA-256 of its DER encoding). It returns the bundle JSON.
func NewBundle(ctx context.Context, sv signature.SignerVerifier, d digest.Digest) ([]byte, error) {
	stmt, err := InTotoStatement(d)
	if err != nil {
		return nil, err
	}
	return NewStatementBundle(ctx, sv, stmt)
}

// ParseBundle parses Sigstore bundle JSON (version 0.1 to 0.3), as
// sigstore-go validates it.
func ParseBundle(b []byte) (*sgbundle.Bundle, error) {
	var bundle sgbundle.Bundle
	if err := bundle.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	return &bundle, nil
}

// VerifyBundle checks a bundle-format signature of the manifest want with
// the public key v, offline (no transparency log, no timestamps, as cosign
// verify --key --insecure-ignore-tlog):
//
//   - the bundle must parse and be signed with a key, not a certificate;
//   - its claim must name want: the subject of the in-toto statement in a
//     DSSE envelope, or the digest of a message signature (*ClaimError);
//   - the signature must be well formed (ErrMalformedSignature) and verify
//     with v through sigstore-go's verifier (ErrBadSignature).
//
// The statement of a DSSE envelope must have cosign's image-signature
// predicate type (spec.SignPredicateType): an attestation about the manifest
// is not a signature of it.
func VerifyBundle(b []byte, v signature.Verifier, want digest.Digest) error {
	return verifyBundle(b, v, want, true)
}

func verifyBundle(b []byte, v signature.Verifier, want digest.Digest, asSignature bool) error {
	bundle, err := ParseBundle(b)
	if err != nil {
		return err
	}
	if vm := bundle.GetVerificationMaterial(); vm != nil && vm.GetPublicKey() == nil {
		return fmt.Errorf("%w: signed with a certificate (keyless), not a key: check it against a trusted root and an identity policy (--trusted-root, --certificate-identity)", ErrBadSignature)
	}
	var sig []byte
	switch c := bundle.GetContent().(type) {
	case *protobundle.Bundle_DsseEnvelope:
		env := c.DsseEnvelope
		if env.GetPayloadType() != spec.InTotoPayloadType {
			return fmt.Errorf("%w: DSSE payload type %q, want %q", ErrMalformedPayload, env.GetPayloadType(), spec.InTotoPayloadType)
		}
		if err := CheckInTotoStatement(env.GetPayload(), want); err != nil {
			return err
		}
		if pt := StatementPredicateType(env.GetPayload()); asSignature && pt != spec.SignPredicateType {
			return fmt.Errorf("%w: an attestation of predicate type %q, not a signature (%s)", ErrMalformedPayload, pt, spec.SignPredicateType)
		}
		if len(env.GetSignatures()) == 0 {
			return fmt.Errorf("%w: DSSE envelope has no signature", ErrMalformedSignature)
		}
		sig = env.GetSignatures()[0].GetSig()
	case *protobundle.Bundle_MessageSignature:
		md := c.MessageSignature.GetMessageDigest()
		if md == nil || md.GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 {
			return fmt.Errorf("%w: message signature without a SHA-256 digest", ErrMalformedPayload)
		}
		got := digest.NewDigestFromBytes(digest.SHA256, md.GetDigest())
		if got != want {
			return &ClaimError{Claimed: got.String(), Want: want}
		}
		sig = c.MessageSignature.GetSignature()
	default:
		return fmt.Errorf("%w: no DSSE envelope or message signature", ErrMalformedBundle)
	}
	if len(sig) == 0 {
		return fmt.Errorf("%w: empty", ErrMalformedSignature)
	}
	if err := checkEncoding(v, sig); err != nil {
		return err
	}
	raw, err := digestBytes(want)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedPayload, err)
	}
	key := root.NewExpiringKey(v, time.Time{}, time.Time{})
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	verifier, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
	if err != nil {
		return fmt.Errorf("bundle verifier: %w", err)
	}
	_, err = verifier.Verify(bundle, verify.NewPolicy(verify.WithArtifactDigest(want.Algorithm().String(), raw), verify.WithKey()))
	if err != nil {
		var ce *ClaimError
		if errors.As(err, &ce) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}
