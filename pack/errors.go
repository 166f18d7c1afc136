package pack

import (
	"errors"

	"github.com/runid/runid-oci/pack/errs"
)

// Sentinel errors of the write side. Errors returned by this package wrap
// one of them, or a sentinel of package spec for format violations; test
// with errors.Is.
var (
	// ErrComponentFile: a component's file is missing, unreadable, not a
	// regular file, or outside the declaration's directory.
	ErrComponentFile = errors.New("component file")
	// ErrComponentTooLarge: a structured (json or yaml) component is over
	// BuildOptions.MaxStructuredSize.
	ErrComponentTooLarge = errors.New("structured component too large")
	// ErrComponentChanged: a component's bytes changed between hashing and
	// pushing.
	ErrComponentChanged = errors.New("component changed since it was hashed")
	// ErrPush: the target refused or failed a push.
	// It is errs.ErrPush.
	ErrPush = errs.ErrPush
	// ErrNoWithholdSecret: a declaration withholds a component but no
	// withhold secret (BuildOptions.WithholdSecret, at least
	// spec.MinWithholdSecretSize bytes) was given, or the secret file
	// cannot be read.
	ErrNoWithholdSecret = errors.New("withheld component needs a withhold secret")
)

// Sentinels of copying (copy.go).
var (
	// ErrCopy: Copy could not read the source or write the destination.
	// A source reference that does not exist also wraps
	// errdef.ErrNotFound.
	ErrCopy = errors.New("copy failed")
	// ErrTooManyReferrers: Copy met more referrers than
	// CopyOptions.MaxReferrers.
	ErrTooManyReferrers = errors.New("too many referrers")
)
