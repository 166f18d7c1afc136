package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// copyBufSize is the size of the fixed buffer each blob fetch streams
// through.
const copyBufSize = 256 << 10

// blobProblem is a failed blob check: the bytes were read and are not what
// the descriptor says, or the blob is missing. It is never retried.
type blobProblem struct {
	check string // blob-digest, blob-size or blob-missing
	msg   string
}

func (p *blobProblem) Error() string { return p.check + ": " + p.msg }

// verifyingReader streams a blob and checks it against its descriptor: it
// hashes and counts every byte it returns, never returns more than
// desc.Size bytes, and fails as soon as the source gives more, or at the
// end when the size or the digest differ. It allocates nothing from
// desc.Size.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want ocispec.Descriptor
	n    int64
}

// newVerifyingReader checks desc before any byte is read: a negative size,
// a size over MaxBlobSize or a digest that is not a valid, available
// algorithm fail with a *blobProblem.
func newVerifyingReader(r io.Reader, desc ocispec.Descriptor) (*verifyingReader, error) {
	if desc.Size < 0 || desc.Size > MaxBlobSize {
		return nil, &blobProblem{check: "blob-size", msg: fmt.Sprintf("the descriptor claims %d bytes; refused without fetching (a blob is 0 to %d bytes)", desc.Size, MaxBlobSize)}
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, &blobProblem{check: "blob-digest", msg: fmt.Sprintf("invalid digest %q: %v", desc.Digest, err)}
	}
	return &verifyingReader{r: r, h: desc.Digest.Algorithm().Hash(), want: desc}, nil
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	// Ask for at most one byte past the declared size: enough to see that
	// a body is too long, never more.
	if rest := v.want.Size + 1 - v.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	k, err := v.r.Read(p)
	v.n += int64(k)
	if v.n > v.want.Size {
		over := int(v.n - v.want.Size)
		v.h.Write(p[:k-over])
		return k - over, &blobProblem{check: "blob-size", msg: fmt.Sprintf("the source served more than the %d bytes of the descriptor", v.want.Size)}
	}
	v.h.Write(p[:k])
	if err == io.EOF {
		if v.n != v.want.Size {
			return k, &blobProblem{check: "blob-size", msg: fmt.Sprintf("the source served %d bytes, the descriptor says %d", v.n, v.want.Size)}
		}
		if got := digest.NewDigest(v.want.Digest.Algorithm(), v.h); got != v.want.Digest {
			return k, &blobProblem{check: "blob-digest", msg: fmt.Sprintf("the bytes hash to %s, the descriptor says %s", got, v.want.Digest)}
		}
	}
	return k, err
}

// sink receives a blob's bytes; reset discards what it holds before a
// retried fetch.
type sink interface {
	io.Writer
	reset() error
}

// discardSink drops the bytes.
type discardSink struct{}

func (discardSink) Write(p []byte) (int, error) { return len(p), nil }
func (discardSink) reset() error                { return nil }

// memSink keeps the bytes in memory; it is only used for blobs whose
// descriptor size is already bounded by a cap.
type memSink struct{ bytes.Buffer }

func (m *memSink) reset() error { m.Reset(); return nil }

// writerOnly hides any ReadFrom method so that io.CopyBuffer uses the
// fixed buffer it is given.
type writerOnly struct{ io.Writer }

// sinkError is a failure to write fetched bytes locally (a full disk):
// fetching again would not help, so it is never retried.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return "write: " + e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// sinkWriter marks the errors of a sink as *sinkError.
type sinkWriter struct{ w io.Writer }

func (s sinkWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		err = &sinkError{err}
	}
	return n, err
}

// fetchVerified streams the blob desc from src into dst through a
// verifying reader and the fixed buffer buf. A fetch that fails in transit
// is retried up to fetchRetries times, from the start, after dst.reset.
// A failed check is a *blobProblem; a missing blob is a *blobProblem with
// check blob-missing.
func fetchVerified(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor, what string, dst sink, buf []byte, opts Options) error {
	if _, err := newVerifyingReader(nil, desc); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err := fetchOnce(ctx, src, desc, dst, buf)
		if err == nil || !retriable(ctx, err) || attempt == fetchRetries {
			if err != nil && !isProblem(err) {
				return fmt.Errorf("fetch %s: %w", what, err)
			}
			return err
		}
		opts.Logger.Debug("retrying blob fetch", "what", what, "digest", desc.Digest, "attempt", attempt+1, "error", err)
		if rerr := dst.reset(); rerr != nil {
			return fmt.Errorf("fetch %s: %w (after: %v)", what, rerr, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fetch %s: %w", what, context.Cause(ctx))
		case <-time.After(retryDelay(attempt)):
		}
	}
}

func fetchOnce(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor, dst sink, buf []byte) error {
	rc, err := src.Fetch(ctx, desc)
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return &blobProblem{check: "blob-missing", msg: fmt.Sprintf("the source does not have %s", desc.Digest)}
		}
		if errors.Is(err, content.ErrMismatchedDigest) {
			// A store that checks a blob's size before serving it (an OCI
			// layout) found another size than the descriptor's: the
			// blob-size check failing, not a failure to look.
			return &blobProblem{check: "blob-size", msg: err.Error()}
		}
		if wrongContentLength(err) {
			return &blobProblem{check: "blob-size", msg: fmt.Sprintf("the source announced a blob of a size other than the descriptor's %d bytes (Content-Length)", desc.Size)}
		}
		return err
	}
	defer rc.Close()
	vr, err := newVerifyingReader(rc, desc)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(sinkWriter{dst}, vr, buf)
	return err
}

// wrongContentLength reports whether err is oras-go's refusal of a
// response whose Content-Length is not the descriptor's size: the source
// serves a blob of the wrong size, which is a failed check, not a failure
// to check. oras-go returns it as an unwrapped message.
func wrongContentLength(err error) bool {
	return strings.HasSuffix(err.Error(), ": mismatch Content-Length")
}

func isProblem(err error) bool {
	var bp *blobProblem
	return errors.As(err, &bp)
}

// retriable reports whether a fetch error may be transient: anything but a
// failed check, a cancelled context, a missing blob, a local write error,
// or a 4xx answer other than 408 and 429.
func retriable(ctx context.Context, err error) bool {
	var se *sinkError
	if ctx.Err() != nil || isProblem(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &se) {
		return false
	}
	if errors.Is(err, errdef.ErrNotFound) {
		return false
	}
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode >= 500 || er.StatusCode == http.StatusRequestTimeout || er.StatusCode == http.StatusTooManyRequests
	}
	return true
}

// retryDelay is the wait before retry attempt+1: 100 ms, 200 ms, 400 ms.
func retryDelay(attempt int) time.Duration {
	return 100 * time.Millisecond << attempt
}
