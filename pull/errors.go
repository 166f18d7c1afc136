package pull

import (
	"errors"

	"github.com/runid/runid-oci/pack/errs"
)

// Sentinel errors of the read side; test with errors.Is.
var (
	// ErrVerification is wrapped by every *VerificationError: the identity
	// was read but does not verify. Any other error means it could not be
	// checked (network, authentication, a missing reference...). It is
	// errs.ErrVerification.
	ErrVerification = errs.ErrVerification
	// ErrTooLarge: a manifest or metadata document is over the size cap
	// (errs.ErrTooLarge).
	ErrTooLarge = errs.ErrTooLarge
	// ErrUnsafePath: a component's logical name would escape the
	// extraction directory or pass through a symbolic link.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrExists: an extraction target file exists and overwriting was not asked.
	ErrExists = errors.New("file exists")
	// ErrNotFound: the reference or a blob does not exist in the source
	// (errs.ErrNotFound).
	ErrNotFound = errs.ErrNotFound
	// ErrInvalidReference: the reference is empty, or a digest that is not
	// a valid sha256 digest (errs.ErrInvalidReference).
	ErrInvalidReference = errs.ErrInvalidReference
)

// VerificationError reports that an identity was read but does not verify:
// every failed check is listed. It is errs.VerificationError.
type VerificationError = errs.VerificationError

// ErrReferrers: the referrers of a manifest cannot be listed (the source
// has no way to list them, or the listing failed).
var ErrReferrers = errors.New("cannot list referrers")
