package pack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2"
)

// Blob is one blob to upload with PushBlobs.
type Blob struct {
	// Name names the blob in progress events and errors (a component's or
	// a file's logical name); empty for metadata.
	Name string
	// Descriptor is the blob's media type, digest and size.
	Descriptor ocispec.Descriptor
	// Open opens the blob's bytes; it is called only when the target lacks
	// the blob.
	Open func() (io.ReadCloser, error)
}

// BytesBlob is a Blob of bytes in memory, described by desc.
func BytesBlob(name string, desc ocispec.Descriptor, data []byte) Blob {
	return Blob{Name: name, Descriptor: desc, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

// PushBlobsOptions configure PushBlobs. The zero value is valid.
type PushBlobsOptions struct {
	// Concurrency is how many blobs upload at once.
	// Default: DefaultPushConcurrency.
	Concurrency int
	// Progress, if set, receives blob events; it may be called from
	// several goroutines at once.
	Progress func(Event)
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

// PushBlobsResult counts the distinct blobs of a PushBlobs.
type PushBlobsResult struct {
	// Uploaded and Skipped count blobs uploaded and found already present.
	Uploaded, Skipped int
	// Bytes is the total size of the blobs uploaded.
	Bytes int64
}

// PushBlobs makes sure target has every blob, each distinct digest once
// and concurrently: a blob the target has is skipped, a missing one is
// uploaded, and one that another writer pushed meanwhile
// (errdef.ErrAlreadyExists) counts as present. This is the one upload path
// of the module: Push, the referrer and signature writers use it. A failed
// check or upload wraps ErrPush; a source that cannot be read or changed
// while it was read (ErrComponentChanged) is returned as that error.
func PushBlobs(ctx context.Context, target oras.Target, blobs []Blob, opts PushBlobsOptions) (PushBlobsResult, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultPushConcurrency
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	up := uploader{target: target, logger: opts.Logger, bytesProgress: opts.Progress, progress: func(e Event) {
		if opts.Progress != nil {
			opts.Progress(e)
		}
	}}
	seen := make(map[digest.Digest]bool, len(blobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for _, b := range blobs {
		if seen[b.Descriptor.Digest] {
			continue
		}
		seen[b.Descriptor.Digest] = true
		g.Go(func() error {
			what := "blob " + b.Descriptor.Digest.String()
			if b.Name != "" {
				what = fmt.Sprintf("%q", b.Name)
			}
			desc := ocispec.Descriptor{MediaType: b.Descriptor.MediaType, Digest: b.Descriptor.Digest, Size: b.Descriptor.Size}
			return up.push(gctx, what, b.Name, desc, func() (io.ReadCloser, func() error, error) {
				rc, err := b.Open()
				return rc, nil, err
			})
		})
	}
	err := g.Wait()
	res := PushBlobsResult{Uploaded: int(up.uploaded.Load()), Skipped: int(up.skipped.Load()), Bytes: up.bytes.Load()}
	opts.Logger.Debug("pushed blobs", "uploaded", res.Uploaded, "skipped", res.Skipped, "distinct", len(seen))
	return res, err
}

// OpenUnchanged opens the file at path for an upload of a blob hashed
// earlier to digest d and size n, and hashes it again as it is read: the
// read that completes it fails with ErrComponentChanged if the file no
// longer has that digest and size. name names it in errors.
func OpenUnchanged(path, name string, d digest.Digest, n int64) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrComponentFile, err)
	}
	return &checkingReader{f: f, h: sha256.New(), want: d, size: n, name: name}, nil
}
