package capture

import "errors"

// Sentinel errors of the importers. Errors returned by this package wrap
// one of them, or an error of package pack or spec; test with errors.Is.
var (
	// ErrUnknownFormat: the request format is not one of Formats().
	ErrUnknownFormat = errors.New("unknown request format")
	// ErrInvalidRequest: the request body is not a single JSON object, or
	// it has invalid JSON, such as duplicate member names.
	ErrInvalidRequest = errors.New("invalid request body")
	// ErrNotImported: Rebuild was given a composition that an importer of
	// this package did not make (its runtime has no importer record), or
	// one whose components do not fit the mapping.
	ErrNotImported = errors.New("not an imported request")
	// ErrRoundTrip: the composition made from a request does not rebuild
	// the request. It is a bug of the importer; please report it with the
	// request.
	ErrRoundTrip = errors.New("imported request does not rebuild")
)
