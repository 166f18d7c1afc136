package sign

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/runid/runid-oci/spec"
)

// SimpleSigningPayload returns the payload cosign signs for the manifest d
// in the tag format: its simple-signing JSON with critical.image.
// docker-manifest-digest = d and critical.identity.docker-reference =
// dockerReference (a repository such as "registry.example/runs"), exactly
// as "cosign sign" marshals it (the repository in go-containerregistry's
// canonical form).
func SimpleSigningPayload(d digest.Digest, dockerReference string) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	ref, err := name.NewDigest(dockerReference+"@"+d.String(), name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("payload: docker reference %q: %w", dockerReference, err)
	}
	return sigpayload.Cosign{Image: ref}.MarshalJSON()
}

// CheckSimpleSigning checks that payload is a cosign simple-signing payload
// whose digest claim is want. A claim naming another manifest gives a
// *ClaimError; an unreadable payload ErrMalformedPayload. It does not check
// any signature.
func CheckSimpleSigning(payload []byte, want digest.Digest) error {
	var ss sigpayload.SimpleContainerImage
	if err := json.Unmarshal(payload, &ss); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedPayload, err)
	}
	if ss.Critical.Type != sigpayload.CosignSignatureType {
		return fmt.Errorf("%w: critical.type is %q, want %q", ErrMalformedPayload, ss.Critical.Type, sigpayload.CosignSignatureType)
	}
	if got := ss.Critical.Image.DockerManifestDigest; got != want.String() {
		return &ClaimError{Claimed: got, Want: want}
	}
	return nil
}

// DecodeSignature decodes a base64 signature annotation. A bad encoding
// gives ErrMalformedSignature.
func DecodeSignature(b64 string) ([]byte, error) {
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64: %v", ErrMalformedSignature, err)
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformedSignature)
	}
	return sig, nil
}

// checkEncoding rejects a signature that cannot be one for the key's
// algorithm, so that "malformed" is told from "made with another key".
func checkEncoding(v signature.Verifier, sig []byte) error {
	pub, err := v.PublicKey()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKey, err)
	}
	if _, ok := pub.(*ecdsa.PublicKey); ok {
		var es struct{ R, S *big.Int }
		rest, err := asn1.Unmarshal(sig, &es)
		if err != nil || len(rest) != 0 || es.R == nil || es.S == nil {
			return fmt.Errorf("%w: not an ASN.1 DER ECDSA signature", ErrMalformedSignature)
		}
	}
	return nil
}

// VerifySimpleSigning checks one tag-format signature as "cosign verify
// --key" does, with the claim check always on: the payload's digest claim
// must be want, the base64 signature well formed, and the signature must
// verify over the payload with v (through cosign's own
// cosign.VerifyImageSignature with SimpleClaimVerifier, transparency log
// ignored). Errors wrap ErrMalformedPayload, *ClaimError, ErrMalformedSignature
// or ErrBadSignature.
func VerifySimpleSigning(ctx context.Context, payload []byte, b64sig string, v signature.Verifier, want digest.Digest) error {
	if err := CheckSimpleSigning(payload, want); err != nil {
		return err
	}
	sig, err := DecodeSignature(b64sig)
	if err != nil {
		return err
	}
	if err := checkEncoding(v, sig); err != nil {
		return err
	}
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	// The same check through cosign's library, so runid-oci accepts exactly
	// what cosign accepts.
	h, err := v1.NewHash(want.String())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedPayload, err)
	}
	osig, err := static.NewSignature(payload, b64sig)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedSignature, err)
	}
	if _, err := cosign.VerifyImageSignature(ctx, osig, h, &cosign.CheckOpts{
		SigVerifier:   v,
		IgnoreTlog:    true,
		ClaimVerifier: cosign.SimpleClaimVerifier,
	}); err != nil {
		return fmt.Errorf("%w: cosign: %v", ErrBadSignature, err)
	}
	return nil
}

// inTotoStatement is an in-toto v1 statement as cosign writes it for an
// image signature: one subject, no predicate.
type inTotoStatement struct {
	Type          string          `json:"_type"`
	Subject       []inTotoSubject `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

type inTotoSubject struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

// InTotoStatement returns the in-toto statement cosign signs for the
// manifest d in the bundle format: subject digest d, predicate type
// spec.SignPredicateType, no predicate.
func InTotoStatement(d digest.Digest) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return json.Marshal(inTotoStatement{
		Type:          spec.InTotoStatementType,
		Subject:       []inTotoSubject{{Digest: map[string]string{d.Algorithm().String(): d.Encoded()}}},
		PredicateType: spec.SignPredicateType,
	})
}

// CheckInTotoStatement checks that stmt is an in-toto statement with a
// subject whose digest is want. It gives a *ClaimError when the subjects
// name other manifests, ErrMalformedPayload when stmt is not a statement.
func CheckInTotoStatement(stmt []byte, want digest.Digest) error {
	var st inTotoStatement
	if err := json.Unmarshal(stmt, &st); err != nil {
		return fmt.Errorf("%w: in-toto statement: %v", ErrMalformedPayload, err)
	}
	if st.Type != spec.InTotoStatementType && st.Type != "https://in-toto.io/Statement/v0.1" {
		return fmt.Errorf("%w: _type %q is not an in-toto statement", ErrMalformedPayload, st.Type)
	}
	if len(st.Subject) == 0 {
		return &ClaimError{Want: want}
	}
	var claimed string
	for _, s := range st.Subject {
		for alg, hexd := range s.Digest {
			if alg == want.Algorithm().String() && hexd == want.Encoded() {
				return nil
			}
			if claimed == "" {
				claimed = alg + ":" + hexd
			}
		}
	}
	return &ClaimError{Claimed: claimed, Want: want}
}

// digestBytes returns the raw hash of d.
func digestBytes(d digest.Digest) ([]byte, error) {
	return hex.DecodeString(d.Encoded())
}
