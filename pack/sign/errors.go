package sign

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/pack/errs"
)

// Sentinel errors; test with errors.Is. A failed upload wraps pack.ErrPush.
var (
	// ErrSignSubject: the reference to sign does not name a manifest that
	// can be read and hashed.
	ErrSignSubject = errors.New("cannot sign")
	// ErrSignatureFormat: an unknown signature format, or a signature tag
	// that holds something other than cosign signatures.
	ErrSignatureFormat = errors.New("signature format")
	// ErrKey: a key file cannot be read or parsed, or holds an
	// unsupported key.
	ErrKey = errors.New("invalid key")
	// ErrKeyPassword: an encrypted private key cannot be decrypted with
	// the password given.
	ErrKeyPassword = errors.New("wrong key password")
	// ErrNoPassword: a password is needed, COSIGN_PASSWORD is not set and
	// there is no terminal to prompt on.
	ErrNoPassword = errors.New("no key password: set COSIGN_PASSWORD or run on a terminal")
	// ErrMalformedPayload: a signed payload is not a cosign simple-signing
	// payload or an in-toto statement.
	ErrMalformedPayload = errors.New("malformed signed payload")
	// ErrMalformedSignature: a signature is not valid base64 or not a valid
	// encoding for the key's algorithm (for example not ASN.1 DER).
	ErrMalformedSignature = errors.New("malformed signature")
	// ErrBadSignature: a well-formed signature does not verify with the
	// key: it was made with another key, or the payload was altered.
	ErrBadSignature = errors.New("signature does not verify with the key")
	// ErrClaimMismatch: a signed payload names another manifest than the
	// one verified. Returned as a *ClaimError.
	ErrClaimMismatch = errors.New("signed payload names another manifest")
	// ErrMalformedBundle: a Sigstore bundle cannot be parsed or holds no
	// usable signature.
	ErrMalformedBundle = errors.New("malformed Sigstore bundle")
	// ErrMalformedManifest: a signature manifest cannot be parsed.
	ErrMalformedManifest = errors.New("malformed signature manifest")
	// ErrTooLarge: a signature artifact is over a bound (spec.MaxSignatureArtifactSize,
	// spec.MaxSignatureLayers, spec.MaxSignatureManifestSize).
	ErrTooLarge = errs.ErrTooLarge
)

// ClaimError reports a signed payload whose digest claim names another
// manifest: typically a signature copied from one artifact to another.
// It wraps ErrClaimMismatch.
type ClaimError struct {
	// Claimed is the digest the payload names (may be empty or invalid).
	Claimed string
	// Want is the digest of the manifest being verified.
	Want digest.Digest
}

// Error says which manifest the payload names and which was verified.
func (e *ClaimError) Error() string {
	if e.Claimed == "" {
		return fmt.Sprintf("%v: it names no manifest digest, want %s", ErrClaimMismatch, e.Want)
	}
	return fmt.Sprintf("%v: it names %s, not %s (a signature copied from another artifact?)", ErrClaimMismatch, e.Claimed, e.Want)
}

// Unwrap returns ErrClaimMismatch.
func (e *ClaimError) Unwrap() error { return ErrClaimMismatch }
