package pull

import (
	"context"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
)

// SignatureVerifier checks the signatures of a manifest. Verify calls it
// after the content checks when VerifyOptions.Signatures is set; package
// pull/sigverify implements it with cosign public keys, so that reading
// and verifying content never depends on the signing libraries.
type SignatureVerifier interface {
	// VerifySignatures checks the signatures of subject (whose digest was
	// computed from its bytes) in src. When none verifies it returns the
	// report and a *VerificationError; any other error means the
	// signatures could not be read.
	VerifySignatures(ctx context.Context, src oras.ReadOnlyTarget, subject ocispec.Descriptor) (*SignatureReport, error)
}

// Signature formats in a SignatureCheck.
const (
	// SignatureFormatTag: cosign's tag format (simple-signing payload).
	SignatureFormatTag = "tag"
	// SignatureFormatBundle: a Sigstore bundle in an OCI 1.1 referrer.
	SignatureFormatBundle = "bundle"
)

// SignatureCheck is one signature examined.
type SignatureCheck struct {
	// Format is SignatureFormatTag or SignatureFormatBundle.
	Format string `json:"format"`
	// Manifest is the digest of the signature manifest.
	Manifest digest.Digest `json:"manifest"`
	// Blob is the digest of the signed payload (tag format) or of the
	// bundle.
	Blob digest.Digest `json:"blob,omitempty"`
	// Found says where the signature manifest was found: "tag" (cosign's
	// sha256-<hex>.sig tag), "referrers", or "tag,referrers".
	Found string `json:"found"`
	// Verified is true when the signature verifies with the key and names
	// the subject.
	Verified bool `json:"verified"`
	// Reason says why it does not verify.
	Reason string `json:"reason,omitempty"`
}

// SignatureReport is the result of VerifySignatures.
type SignatureReport struct {
	// Subject is the digest of the signed manifest.
	Subject digest.Digest `json:"subject"`
	// KeyID names the key: "sha256:" and the hex SHA-256 of its DER
	// encoding.
	KeyID string `json:"keyID"`
	// Verified counts the signatures that verify.
	Verified int `json:"verified"`
	// Signatures lists every signature examined.
	Signatures []SignatureCheck `json:"signatures"`
}
