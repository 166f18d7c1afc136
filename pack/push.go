package pack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/errdef"
)

// DefaultPushConcurrency is how many blobs Push uploads at once by default.
const DefaultPushConcurrency = 8

// EventKind says what a progress Event reports.
type EventKind int

// Progress event kinds.
const (
	// EventBlobSkipped: the blob already exists in the target.
	EventBlobSkipped EventKind = iota + 1
	// EventBlobUploading: a blob upload starts.
	EventBlobUploading
	// EventBlobUploaded: a blob upload finished.
	EventBlobUploaded
	// EventManifestPushed: the manifest was pushed (or already existed).
	EventManifestPushed
	// EventTagged: the tag now points at the manifest.
	EventTagged
)

// Event is a progress report. Name is a component's logical name, or empty
// for the identity document and the manifest.
type Event struct {
	Kind       EventKind
	Name       string
	Descriptor ocispec.Descriptor
}

// PushOptions configure Push. The zero value is valid.
type PushOptions struct {
	// Tag, if set, is pointed at the identity after the manifest is pushed.
	Tag string
	// Concurrency is how many blobs upload at once.
	// Default: DefaultPushConcurrency.
	Concurrency int
	// Progress, if set, receives events; it may be called from several
	// goroutines at once.
	Progress func(Event)
	// AllowSecrets skips the credential scan. By default Push first scans
	// every disclosed text, yaml and json component (see Scan) and, if it
	// finds what looks like a credential, uploads nothing and fails with a
	// *SecretsError (ErrSecretFound) that names the component, the line
	// and the kind, never the credential.
	AllowSecrets bool
	// RevealDir, if set, is where the reveals of withheld components are
	// written, before anything is uploaded: WriteReveals(c,
	// filepath.Join(RevealDir, <identity digest hex>)). Default: none is
	// written (they stay in Composition.Reveals, and the owner can rebuild
	// them from the declaration and the withhold secret).
	RevealDir string
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

// PushResult reports a push.
type PushResult struct {
	// Descriptor is the identity manifest's descriptor; its digest is the
	// identity digest.
	Descriptor ocispec.Descriptor
	// Tag is the tag pushed, if any.
	Tag string
	// BlobsUploaded and BlobsSkipped count distinct blobs (components and
	// identity document) uploaded and found already present.
	BlobsUploaded int
	BlobsSkipped  int
	// BytesUploaded is the total size of the blobs uploaded.
	BytesUploaded int64
	// Reveals lists the reveal files written under PushOptions.RevealDir.
	Reveals []string
}

// Push uploads a composition to target: every blob first (concurrently,
// skipping blobs the target already has), then the manifest, then the tag.
// An interrupted push therefore never leaves a visible, incomplete
// identity, and a retry uploads only what is missing.
func Push(ctx context.Context, target oras.Target, c *Composition, opts PushOptions) (PushResult, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultPushConcurrency
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	progress := func(e Event) {
		if opts.Progress != nil {
			opts.Progress(e)
		}
	}
	revealFiles, err := beforePush(ctx, c, opts)
	if err != nil {
		return PushResult{Tag: opts.Tag}, err
	}
	id := c.Identity
	type blob struct {
		name string
		desc ocispec.Descriptor
		open func() (io.ReadCloser, error)
	}
	blobs := []blob{{name: "", desc: id.ConfigDescriptor(), open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(id.DocumentBytes)), nil
	}}}
	seen := map[string]bool{id.ConfigDescriptor().Digest.String(): true}
	for _, comp := range c.Components {
		if seen[comp.Digest.String()] {
			continue
		}
		seen[comp.Digest.String()] = true
		blobs = append(blobs, blob{name: comp.Name, desc: comp.Descriptor(), open: comp.Open})
	}

	res := PushResult{Tag: opts.Tag, Reveals: revealFiles}
	var uploaded, skipped atomic.Int64
	var bytesUp atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for _, b := range blobs {
		g.Go(func() error {
			what := "identity document"
			if b.name != "" {
				what = fmt.Sprintf("component %q", b.name)
			}
			ok, err := target.Exists(gctx, b.desc)
			if err != nil {
				return fmt.Errorf("push %s: %w: check existence: %w", what, ErrPush, err)
			}
			if ok {
				skipped.Add(1)
				progress(Event{Kind: EventBlobSkipped, Name: b.name, Descriptor: b.desc})
				return nil
			}
			progress(Event{Kind: EventBlobUploading, Name: b.name, Descriptor: b.desc})
			rc, err := b.open()
			if err != nil {
				return fmt.Errorf("push %s: %w", what, err)
			}
			defer rc.Close()
			if err := target.Push(gctx, b.desc, rc); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
				if errors.Is(err, ErrComponentChanged) {
					return fmt.Errorf("push %s: %w", what, err)
				}
				return fmt.Errorf("push %s: %w: %w", what, ErrPush, err)
			}
			uploaded.Add(1)
			bytesUp.Add(b.desc.Size)
			opts.Logger.Debug("uploaded blob", "name", b.name, "digest", b.desc.Digest, "size", b.desc.Size)
			progress(Event{Kind: EventBlobUploaded, Name: b.name, Descriptor: b.desc})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.BlobsUploaded, res.BlobsSkipped, res.BytesUploaded = int(uploaded.Load()), int(skipped.Load()), bytesUp.Load()

	mdesc := id.Descriptor()
	res.Descriptor = mdesc
	exists, err := target.Exists(ctx, mdesc)
	if err != nil {
		return res, fmt.Errorf("push manifest: %w: check existence: %w", ErrPush, err)
	}
	if !exists {
		if err := target.Push(ctx, mdesc, bytes.NewReader(id.ManifestBytes)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return res, fmt.Errorf("push manifest: %w: %w", ErrPush, err)
		}
	}
	progress(Event{Kind: EventManifestPushed, Descriptor: mdesc})
	if opts.Tag != "" {
		if err := target.Tag(ctx, mdesc, opts.Tag); err != nil {
			return res, fmt.Errorf("tag %q: %w: %w", opts.Tag, ErrPush, err)
		}
		progress(Event{Kind: EventTagged, Name: opts.Tag, Descriptor: mdesc})
	}
	return res, nil
}
