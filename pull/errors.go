package pull

import (
	"errors"
	"fmt"
	"strings"

	"github.com/runid/runid-oci/spec"
)

// Sentinel errors of the read side; test with errors.Is.
var (
	// ErrVerification is wrapped by every *VerificationError: the identity
	// was read but does not verify. Any other error means it could not be
	// checked (network, authentication, a missing reference...).
	ErrVerification = errors.New("does not verify")
	// ErrTooLarge: a manifest or metadata document is over the size cap.
	ErrTooLarge = errors.New("over the size cap")
	// ErrUnsafePath: a component's logical name would escape the
	// extraction directory or pass through a symbolic link.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrExists: an extraction target file exists and overwriting was not asked.
	ErrExists = errors.New("file exists")
	// ErrNotFound: the reference or a blob does not exist in the source.
	ErrNotFound = errors.New("not found")
	// ErrInvalidReference: the reference is empty, or a digest that is not
	// a valid sha256 digest.
	ErrInvalidReference = errors.New("invalid reference")
)

// VerificationError reports that an identity was read but does not verify:
// every failed check is listed. It wraps ErrVerification, so callers (and
// exit codes) tell "does not verify" from "could not reach".
type VerificationError struct {
	// Reference is what was verified, as given.
	Reference string
	// Problems lists each failed check.
	Problems []spec.Problem
}

// Error names the reference and its first three problems.
func (e *VerificationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s does not verify", e.Reference)
	for i, p := range e.Problems {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-3)
			break
		}
		b.WriteString("; ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns ErrVerification.
func (e *VerificationError) Unwrap() error { return ErrVerification }

// ErrReferrers: the referrers of a manifest cannot be listed (the source
// has no way to list them, or the listing failed).
var ErrReferrers = errors.New("cannot list referrers")
