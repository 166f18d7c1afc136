package pull

import (
	"context"
	"time"

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
	// Signer describes the certificate of a keyless signature, when it
	// could be read.
	Signer *KeylessSigner `json:"signer,omitempty"`
}

// KeylessSigner is who signed a keyless signature, from its certificate,
// and when, from the proofs of the signing time that verified.
type KeylessSigner struct {
	// Identity is the certificate's subject alternative name (an email,
	// a URI such as a workflow path).
	Identity string `json:"identity"`
	// Issuer is the OIDC issuer the certificate records.
	Issuer string `json:"issuer"`
	// SigningTimes are the times proven by a transparency log entry
	// ("tlog") or a timestamp authority ("tsa"), verified.
	SigningTimes []SigningTime `json:"signingTimes,omitempty"`
}

// SigningTime is one verified proof of a signature's time.
type SigningTime struct {
	// Kind is "tlog" (a transparency log's integrated time) or "tsa" (an
	// RFC 3161 timestamp).
	Kind string `json:"kind"`
	// URI names the log or authority in the trusted root.
	URI string `json:"uri,omitempty"`
	// Time is the proven time.
	Time time.Time `json:"time"`
}

// SignatureReport is the result of VerifySignatures.
type SignatureReport struct {
	// Subject is the digest of the signed manifest.
	Subject digest.Digest `json:"subject"`
	// KeyID names the key: "sha256:" and the hex SHA-256 of its DER
	// encoding. Empty for keyless verification.
	KeyID string `json:"keyID"`
	// Keyless is the certificate identity policy of a keyless
	// verification, such as "identity ci@example.com, issuer
	// https://issuer.example"; empty for a key.
	Keyless string `json:"keyless,omitempty"`
	// Verified counts the signatures that verify.
	Verified int `json:"verified"`
	// Signatures lists every signature examined.
	Signatures []SignatureCheck `json:"signatures"`
}
