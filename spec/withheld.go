package spec

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
)

// Withholding (spec/SPEC.md §7.2): a withheld component is represented in
// the identity by a commitment document instead of its content.
//
//	d          = SHA-256(content)                       (content digest)
//	salt       = HMAC-SHA-256(key = secret, msg = "runid/v1/withhold-salt\x00" || d as "sha256:<hex>")
//	commitment = HMAC-SHA-256(key = salt, msg = content)
//
// content is the component's bytes as they would have been packed (for the
// json format, after RFC 8785 canonicalization). The salt is unknown to
// anyone without the owner's secret, so short or guessable content cannot be
// recovered by hashing candidates; the same content under the same secret
// gives the same salt and commitment, so the owner reproduces the identity.
// Revealing one salt (in a reveal file) lets an auditor check that one
// content and nothing else.

// CommitmentAlgorithm names the commitment scheme in a commitment document.
const CommitmentAlgorithm = "hmac-sha256"

// MinWithholdSecretSize is the shortest owner secret accepted, in bytes.
const MinWithholdSecretSize = 32

const saltLabel = "runid/v1/withhold-salt\x00"

// ErrCommitment: a commitment document or reveal is malformed, or content
// does not match a commitment.
var ErrCommitment = errors.New("commitment mismatch")

// Commitment is the blob of a withheld component (media type
// mediatype.Withheld), serialized as RFC 8785 canonical JSON. It carries no
// byte of the content, and not its size.
type Commitment struct {
	// Algorithm is CommitmentAlgorithm.
	Algorithm string `json:"algorithm"`
	// Commitment is the lower-case hex HMAC-SHA-256 of the content under the salt.
	Commitment string `json:"commitment"`
	// MediaType is the media type the component would have had if disclosed.
	MediaType string `json:"mediaType"`
}

// Reveal is what the owner keeps, and may give an auditor, to prove that a
// given file is exactly a withheld component (spec/SPEC.md §7.3).
type Reveal struct {
	// Role and Name identify the component in the identity.
	Role string `json:"role"`
	Name string `json:"name"`
	// MediaType is the disclosed media type of the content.
	MediaType string `json:"mediaType"`
	// ContentDigest and Size describe the content (after canonicalization).
	ContentDigest digest.Digest `json:"contentDigest"`
	Size          int64         `json:"size"`
	// Salt is the lower-case hex salt.
	Salt string `json:"salt"`
	// Commitment is the digest of the commitment blob in the identity.
	Commitment digest.Digest `json:"commitment"`
}

// WithholdSalt derives the salt of content with digest d under the owner's secret.
func WithholdSalt(secret []byte, d digest.Digest) ([]byte, error) {
	if len(secret) < MinWithholdSecretSize {
		return nil, fmt.Errorf("%w: withhold secret is %d bytes, need at least %d", ErrCommitment, len(secret), MinWithholdSecretSize)
	}
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, saltLabel)
	io.WriteString(m, d.String())
	return m.Sum(nil), nil
}

// CommitmentHash returns a hash that computes the commitment of the bytes
// written to it under salt; pass its Sum to NewCommitment.
func CommitmentHash(salt []byte) hash.Hash { return hmac.New(sha256.New, salt) }

// NewCommitment encodes the commitment document for a withheld component
// whose disclosed media type is mediaType, from the HMAC sum of its content.
// It returns the canonical bytes.
func NewCommitment(mediaType string, sum []byte) ([]byte, error) {
	return MarshalCanonical(Commitment{Algorithm: CommitmentAlgorithm, Commitment: hex.EncodeToString(sum), MediaType: mediaType})
}

// ParseCommitment decodes and checks a commitment document.
func ParseCommitment(data []byte) (*Commitment, error) {
	var c Commitment
	if err := ValidateJSON("withheld.schema.json", data); err != nil {
		return nil, fmt.Errorf("%w: commitment document: %v", ErrCommitment, err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: commitment document: %v", ErrCommitment, err)
	}
	return &c, nil
}

// CheckReveal verifies that content (read from r) is the component that a
// commitment document commits to, given the reveal's salt. It streams r.
func CheckReveal(commitmentDoc []byte, rv Reveal, r io.Reader) error {
	c, err := ParseCommitment(commitmentDoc)
	if err != nil {
		return err
	}
	salt, err := hex.DecodeString(rv.Salt)
	if err != nil || len(salt) != sha256.Size {
		return fmt.Errorf("%w: reveal salt is not 32 bytes of hex", ErrCommitment)
	}
	h := CommitmentHash(salt)
	cd := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, cd), r)
	if err != nil {
		return fmt.Errorf("read revealed content: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !hmac.Equal([]byte(got), []byte(c.Commitment)) {
		return fmt.Errorf("%w: the content does not match the commitment of %q", ErrCommitment, rv.Name)
	}
	if rv.ContentDigest != "" && digest.NewDigestFromBytes(digest.SHA256, cd.Sum(nil)) != rv.ContentDigest {
		return fmt.Errorf("%w: content digest differs from the reveal's", ErrCommitment)
	}
	if rv.Size != 0 && n != rv.Size {
		return fmt.Errorf("%w: content is %d bytes, the reveal says %d", ErrCommitment, n, rv.Size)
	}
	if rv.MediaType != "" && rv.MediaType != c.MediaType {
		return fmt.Errorf("%w: reveal media type %q, commitment says %q", ErrCommitment, rv.MediaType, c.MediaType)
	}
	return nil
}

// CheckCommitmentRole returns an error wrapping ErrCommitment when the
// disclosed media type of a commitment does not fit the role of the
// withheld component (spec/SPEC.md §7.2).
func CheckCommitmentRole(role string, c *Commitment) error {
	if _, _, ok := mediatype.ParseComponent(c.MediaType); !ok {
		return fmt.Errorf("%w: unknown disclosed media type %q", ErrCommitment, c.MediaType)
	}
	if p := checkMediaType(ComponentEntry{Role: role, MediaType: c.MediaType}); p != "" {
		return fmt.Errorf("%w: %s", ErrCommitment, p)
	}
	return nil
}
