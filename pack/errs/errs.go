// Package errs holds the sentinel errors that every package of runid-oci
// shares, and the verification-failure type. It sits below pack and pull
// (it imports only spec and oras-go's errdef), so that the write side, the
// read side and the CLI test one set of values: a missing reference is
// ErrNotFound whether Attach, Verify or Copy met it, and
// errors.Is(err, errdef.ErrNotFound) holds for it as for oras-go's own
// errors. The packages re-export the values they return under their own
// names (pull.ErrNotFound is errs.ErrNotFound); test with errors.Is.
//
// Exit codes follow the split: a *VerificationError (ErrVerification) is
// "does not verify" (3); any other error is "could not do it" (1).
package errs

import (
	"errors"
	"fmt"
	"strings"

	"oras.land/oras-go/v2/errdef"

	"github.com/runid/runid-oci/spec"
)

// sentinel is an error value with its own message that also matches the
// oras-go errdef value it stands for.
type sentinel struct {
	msg  string
	base error
}

func (s *sentinel) Error() string { return s.msg }
func (s *sentinel) Unwrap() error { return s.base }

// The shared sentinels.
var (
	// ErrVerification is wrapped by every *VerificationError: the subject
	// was read but does not verify. Any other error means it could not be
	// checked (network, authentication, a missing reference...).
	ErrVerification = errors.New("does not verify")
	// ErrNotFound: a reference, manifest or blob does not exist in the
	// store. It matches errdef.ErrNotFound.
	ErrNotFound error = &sentinel{"not found", errdef.ErrNotFound}
	// ErrTooLarge: a manifest, document or signature artifact is over its
	// size cap. It matches errdef.ErrSizeExceedsLimit.
	ErrTooLarge error = &sentinel{"over the size cap", errdef.ErrSizeExceedsLimit}
	// ErrInvalidReference: a reference is empty, or a digest that is not a
	// valid sha256 digest. It matches errdef.ErrInvalidReference.
	ErrInvalidReference error = &sentinel{"invalid reference", errdef.ErrInvalidReference}
	// ErrPush: the target refused or failed a push.
	ErrPush = errors.New("push failed")
)

// VerificationError reports that a subject (an identity, an output record,
// a signature) was read but does not verify: every failed check is listed.
// It wraps ErrVerification, so callers (and exit codes) tell "does not
// verify" from "could not reach".
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
