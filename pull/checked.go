package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/spec"
)

// The functions below expose the steps of Verify to packages that build on
// a verified identity (pull/diff): each does exactly what Verify does for
// that step, so a comparison trusts nothing that Verify would reject.

// CheckIdentity resolves ref in src and checks the identity's structure as
// Verify does (manifest digest, every format rule), without reading its
// component blobs. The report holds the checks made. When the identity
// was read but its structure does not verify, the error is a
// *VerificationError; any other error means it could not be read.
func CheckIdentity(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts Options) (*Identity, *Report, error) {
	rep := newReport(ref)
	id, err := inspect(ctx, src, ref, opts.withDefaults(), rep)
	if err != nil {
		return nil, rep, err
	}
	if id == nil {
		return nil, rep, rep.err()
	}
	return id, rep, nil
}

// VerifyBlobs fetches and hashes every distinct blob of id concurrently, as
// Verify does, and records the blob checks in rep. keep, if set, is asked
// for each blob (concurrently) whether its verified bytes are wanted: it
// returns a buffer to fill, or nil to discard them; a buffer is emptied
// before a retried fetch. The error is not nil only when a blob could not
// be checked; failed checks are in rep (see Report.Err).
func VerifyBlobs(ctx context.Context, src oras.ReadOnlyTarget, id *Identity, opts Options, rep *Report, keep func(ocispec.Descriptor) *bytes.Buffer) error {
	sinkFor := func(job blobJob) (sink, error) {
		if keep != nil {
			if b := keep(job.desc); b != nil {
				return bufSink{b}, nil
			}
		}
		return discardSink{}, nil
	}
	return verifyBlobs(ctx, src, id, opts.withDefaults(), rep, sinkFor)
}

// FetchBlob reads the blob desc from src, at most limit bytes, and checks
// its digest and size. A blob that is missing or does not match desc gives
// a *VerificationError for ref naming subject.
func FetchBlob(ctx context.Context, src oras.ReadOnlyTarget, desc ocispec.Descriptor, ref, subject string, limit int64, opts Options) ([]byte, error) {
	if desc.Size > limit {
		return nil, fmt.Errorf("%s: %w: %d bytes, the cap is %d", subject, ErrTooLarge, desc.Size, limit)
	}
	var m memSink
	err := fetchVerified(ctx, src, plain(desc), subject, &m, make([]byte, copyBufSize), opts.withDefaults())
	var bp *blobProblem
	if errors.As(err, &bp) {
		return nil, &VerificationError{Reference: ref, Problems: []spec.Problem{{Check: bp.check, Subject: subject, Msg: bp.msg}}}
	}
	if err != nil {
		return nil, err
	}
	return m.Bytes(), nil
}

// Pass records a check that passed.
func (r *Report) Pass(check, subject, msg string) { r.pass(check, subject, msg) }

// Err sets Verified and returns a *VerificationError listing the failed
// checks, or nil when every check passed.
func (r *Report) Err() error { return r.err() }

// bufSink keeps a blob's bytes in a caller's buffer.
type bufSink struct{ b *bytes.Buffer }

func (s bufSink) Write(p []byte) (int, error) { return s.b.Write(p) }
func (s bufSink) reset() error                { s.b.Reset(); return nil }
