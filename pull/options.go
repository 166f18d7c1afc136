// Package pull is the read side of runid-oci: it resolves a run identity in
// any oras.ReadOnlyTarget (a remote repository, an OCI image layout
// directory or an OCI image layout tar file), checks it against every rule of
// spec/SPEC.md §6, verifies every blob, and extracts the components to a
// directory; it also checks reveals of withheld components, verifies an
// output record's chain, and discovers what refers to a manifest.
// Signature checks (pull/sigverify) and comparisons (pull/diff) are its
// subpackages.
//
// Nothing a source says is trusted. A tag is resolved by hashing the
// manifest bytes, never by a server's Docker-Content-Digest header, and
// every later step is pinned to that digest. Manifests and identity
// documents are read through a size cap (Options.MaxMetadataSize). Blobs are
// streamed through a verifying reader that hashes and counts what it reads
// and never allocates from a size a descriptor claims; a blob is trusted
// only once its digest and size check. Extraction writes each component to
// a temporary file inside the target directory, through an os.Root so that
// no path can escape it, and renames it to its logical name only after the
// whole identity has verified.
package pull

import (
	"log/slog"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/spec"
)

// DefaultConcurrency is how many blobs are fetched at once by default.
const DefaultConcurrency = 8

// MaxBlobSize is the largest blob size a descriptor may claim: 1 PiB. A
// component whose descriptor claims more is reported as a failed blob-size
// check without being fetched.
const MaxBlobSize int64 = 1 << 50

// fetchRetries is how many times a blob fetch that fails in transit (a
// connection reset, a truncated body, a 5xx) is retried before the error
// is returned. Verification failures are never retried.
const fetchRetries = 3

// Options configure the read-side operations. The zero value is valid.
type Options struct {
	// MaxMetadataSize caps the size of a manifest and of an identity
	// document, in bytes. Default: spec.DefaultMaxMetadataSize (4 MiB).
	MaxMetadataSize int64
	// Concurrency is how many blobs are fetched at once.
	// Default: DefaultConcurrency.
	Concurrency int
	// Progress, if set, receives events; it may be called from several
	// goroutines at once.
	Progress func(Event)
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxMetadataSize <= 0 {
		o.MaxMetadataSize = spec.DefaultMaxMetadataSize
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) progress(e Event) {
	if o.Progress != nil {
		o.Progress(e)
	}
}

// EventKind says what a progress Event reports.
type EventKind int

// Progress event kinds.
const (
	// EventBlobVerified: a blob was fetched and its digest and size
	// checked. Name is the first component that has the blob.
	EventBlobVerified EventKind = iota + 1
	// EventFileWritten: Pull wrote a component at its logical name.
	EventFileWritten
	// EventBlobBytes: Bytes of a blob have been fetched (and hashed) so
	// far, reported as they arrive. A fetch retried after a failure in
	// transit starts again from zero. Name is the first component that
	// has the blob.
	EventBlobBytes
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case EventBlobVerified:
		return "blob-verified"
	case EventFileWritten:
		return "file-written"
	case EventBlobBytes:
		return "blob-bytes"
	}
	return "unknown"
}

// Event is a progress report. Name is a component's logical name.
type Event struct {
	Kind       EventKind
	Name       string
	Descriptor ocispec.Descriptor
	// Bytes is how many bytes of the blob have been fetched so far, for
	// EventBlobBytes; zero otherwise.
	Bytes int64
}
