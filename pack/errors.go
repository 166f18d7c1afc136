package pack

import (
	"errors"

	"github.com/runid/runid-oci/internal/cosignsig"
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
	ErrPush = errors.New("push failed")
	// ErrNoWithholdSecret: a declaration withholds a component but no
	// withhold secret (BuildOptions.WithholdSecret, at least
	// spec.MinWithholdSecretSize bytes) was given, or the secret file
	// cannot be read.
	ErrNoWithholdSecret = errors.New("withheld component needs a withhold secret")
)

// Sentinels of signing (sign.go).
var (
	// ErrSignSubject: the reference to sign does not name a manifest that
	// can be read and hashed.
	ErrSignSubject = errors.New("cannot sign")
	// ErrSignatureFormat: an unknown signature format, or a signature tag
	// that holds something other than cosign signatures.
	ErrSignatureFormat = errors.New("signature format")
	// ErrKey: a key file cannot be read or parsed, or holds an
	// unsupported key.
	ErrKey = cosignsig.ErrKey
	// ErrKeyPassword: an encrypted private key cannot be decrypted with
	// the password given.
	ErrKeyPassword = cosignsig.ErrKeyPassword
	// ErrCopy: Copy could not read the source or write the destination.
	// A source reference that does not exist also wraps
	// errdef.ErrNotFound.
	ErrCopy = errors.New("copy failed")
	// ErrTooManyReferrers: Copy met more referrers than
	// CopyOptions.MaxReferrers.
	ErrTooManyReferrers = errors.New("too many referrers")
)

// Sentinels of credential scanning (secrets.go).
var (
	// ErrSecretFound: a disclosed component looks like it holds a
	// credential; the error is a *SecretsError listing the findings.
	ErrSecretFound = errors.New("credential found in a disclosed component")
)

// Sentinels of attaching output records and links (spec/SPEC.md §8).
var (
	// ErrNotFound: the identity or artifact to attach to does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNotIdentity: the subject of an output record, or the identity a
	// link names, is not a well-formed run identity.
	ErrNotIdentity = errors.New("not a run identity")
	// ErrOutputFile: an output file is missing, unreadable or not a
	// regular file.
	ErrOutputFile = errors.New("output file")
	// ErrTooLarge: a manifest read to check a subject is over the size cap.
	ErrTooLarge = errors.New("over the size cap")
	// ErrReferrersIndex: a pushed referrer is still not listed by its
	// subject after IndexOptions.Attempts pushes.
	ErrReferrersIndex = errors.New("referrer not listed by its subject")
)
