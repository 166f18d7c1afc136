package referrer

import (
	"errors"

	"github.com/runid/runid-oci/pack/errs"
)

// Sentinel errors of attaching output records and links (spec/SPEC.md §8)
// and of reading the tag-schema fallback; test with errors.Is. A failed
// upload wraps pack.ErrPush.
var (
	// ErrNotFound: the identity or artifact to attach to does not exist
	// (errs.ErrNotFound).
	ErrNotFound = errs.ErrNotFound
	// ErrNotIdentity: the subject of an output record, or the identity a
	// link names, is not a well-formed run identity.
	ErrNotIdentity = errors.New("not a run identity")
	// ErrOutputFile: an output file is missing, unreadable or not a
	// regular file.
	ErrOutputFile = errors.New("output file")
	// ErrTooLarge: a manifest read to check a subject, or a fallback
	// index, is over the size cap (errs.ErrTooLarge).
	ErrTooLarge = errs.ErrTooLarge
	// ErrReferrersIndex: a pushed referrer is still not listed by its
	// subject after IndexOptions.Attempts pushes.
	ErrReferrersIndex = errors.New("referrer not listed by its subject")
	// ErrFallbackNotIndex: the fallback tag names a manifest that is not
	// an OCI image index.
	ErrFallbackNotIndex = errors.New("fallback tag does not hold an image index")
	// ErrFallbackMalformed: the fallback tag's content cannot be decoded
	// as an image index.
	ErrFallbackMalformed = errors.New("malformed referrers index")
)
