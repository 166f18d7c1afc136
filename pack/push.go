package pack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
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
	// EventBlobBytes: Bytes of the blob have been sent (or, for Copy,
	// fetched from the source) so far. It comes after EventBlobUploading,
	// as the bytes are read, at most once per read of the source.
	EventBlobBytes
	// EventFileHashing: Bytes of a component file have been hashed so far
	// (Build and Load). Descriptor has only the file's size when hashing
	// began; the digest is not known yet.
	EventFileHashing
)

// Event is a progress report. Name is a component's logical name, or empty
// for the identity document and the manifest.
type Event struct {
	Kind       EventKind
	Name       string
	Descriptor ocispec.Descriptor
	// Bytes is how many bytes of the blob or file have been sent or hashed
	// so far, for EventBlobBytes and EventFileHashing; zero otherwise.
	Bytes int64
}

// countingReader reports, after each read, how many bytes have been read
// so far.
type countingReader struct {
	r      io.Reader
	n      int64
	report func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if k > 0 {
		c.n += int64(k)
		c.report(c.n)
	}
	return k, err
}

// counting wraps r so that each read reports EventBlobBytes through
// progress; r is returned as it is when progress is nil.
func counting(r io.Reader, name string, desc ocispec.Descriptor, progress func(Event)) io.Reader {
	if progress == nil {
		return r
	}
	return &countingReader{r: r, report: func(n int64) {
		progress(Event{Kind: EventBlobBytes, Name: name, Descriptor: desc, Bytes: n})
	}}
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
	// The blobs to push: the identity document (-1), then each component
	// (its index) whose digest was not seen before. Their descriptors and
	// openers are made as they are pushed, not held for all components at
	// once: with thousands of components they would be a third of a push's
	// live memory.
	blobs := make([]int, 1, len(c.Components)+1)
	blobs[0] = -1
	seen := make(map[digest.Digest]struct{}, len(c.Components)+1)
	seen[id.ConfigDescriptor().Digest] = struct{}{}
	for i, comp := range c.Components {
		if _, dup := seen[comp.Digest]; dup {
			continue
		}
		seen[comp.Digest] = struct{}{}
		blobs = append(blobs, i)
	}
	seen = nil
	blob := func(i int) (name string, desc ocispec.Descriptor, open opener) {
		if i < 0 {
			return "", id.ConfigDescriptor(), func() (io.ReadCloser, func() error, error) {
				return io.NopCloser(bytes.NewReader(id.DocumentBytes)), nil, nil
			}
		}
		comp := &c.Components[i]
		return comp.Name, comp.Descriptor(), comp.openUpload
	}

	res := PushResult{Tag: opts.Tag, Reveals: revealFiles}
	mdesc := id.Descriptor()
	res.Descriptor = mdesc
	// An identity whose manifest the target already has is complete there
	// (Push writes the manifest only after every blob, and a registry
	// accepts a manifest only once it has its blobs), so pushing it again
	// checks nothing else: one request instead of one per blob, as
	// oras.Copy does for a graph whose root exists.
	present, err := target.Exists(ctx, mdesc)
	if err != nil {
		return res, fmt.Errorf("push manifest: %w: check existence: %w", ErrPush, err)
	}
	if present {
		for _, i := range blobs {
			name, desc, _ := blob(i)
			progress(Event{Kind: EventBlobSkipped, Name: name, Descriptor: desc})
		}
		res.BlobsSkipped = len(blobs)
		opts.Logger.Debug("identity already present", "digest", mdesc.Digest, "blobs", len(blobs))
	} else {
		up := uploader{target: target, progress: progress, bytesProgress: opts.Progress, logger: opts.Logger}
		up.mountRepo, up.mounter = mounterOf(target)
		g, gctx := errgroup.WithContext(ctx)
		if r, ok := target.(*remote.Repository); ok {
			up.mono = newMonolithic(r)
			// Every single-POST upload needs pull and push on the
			// repository: the authentication scope is worked out once for
			// the push, not once per request.
			gctx = auth.AppendRepositoryScope(gctx, r.Reference, auth.ActionPull, auth.ActionPush)
		}
		g.SetLimit(opts.Concurrency)
		for _, i := range blobs {
			g.Go(func() error {
				name, desc, open := blob(i)
				what := "identity document"
				if name != "" {
					what = fmt.Sprintf("component %q", name)
				}
				return up.push(gctx, what, name, desc, open)
			})
		}
		if err := g.Wait(); err != nil {
			return res, err
		}
		res.BlobsUploaded, res.BlobsSkipped, res.BytesUploaded = int(up.uploaded.Load()), int(up.skipped.Load()), up.bytes.Load()
	}

	// With a tag, a registry takes the manifest and the tag in one request
	// (a tag alone would be a fetch and a push of the manifest).
	if rp, ok := target.(registry.ReferencePusher); ok && opts.Tag != "" {
		if err := rp.PushReference(ctx, mdesc, bytes.NewReader(id.ManifestBytes), opts.Tag); err != nil {
			return res, fmt.Errorf("tag %q: %w: %w", opts.Tag, ErrPush, err)
		}
		progress(Event{Kind: EventManifestPushed, Descriptor: mdesc})
		progress(Event{Kind: EventTagged, Name: opts.Tag, Descriptor: mdesc})
		return res, nil
	}
	if !present {
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

// mountMaxSize is the largest blob that Push offers a registry to mount
// before uploading it. For a blob up to this size, one request (a POST
// asking the repository to mount the blob from itself) both finds a blob
// the repository already has (201 Created) and opens the upload session
// for one it lacks (202 Accepted), instead of a HEAD then a POST: with
// thousands of small components that round trip is most of the cost. A
// registry that cannot mount answers 202, and the blob is uploaded even if
// the repository had it; larger blobs are therefore checked with a HEAD
// first, so that at most mountMaxSize bytes are ever sent needlessly per
// blob.
const mountMaxSize = 1 << 20

// uploader pushes the blobs of one Push and counts them.
type uploader struct {
	target   oras.Target
	progress func(Event)
	// bytesProgress receives EventBlobBytes; nil when there is no
	// progress hook, so that uploads are not counted for nothing.
	bytesProgress func(Event)
	logger        *slog.Logger

	mounter   registry.Mounter // set for a remote repository
	mountRepo string           // its repository name
	noMount   atomic.Bool      // set once the registry refused a mount request
	mono      *monolithic      // single-POST uploads, for a remote repository

	uploaded, skipped, bytes atomic.Int64
}

// mounterOf returns the repository name and mounter of a remote
// repository, or nothing for any other target.
func mounterOf(t oras.Target) (string, registry.Mounter) {
	if r, ok := t.(*remote.Repository); ok {
		return r.Reference.Repository, r
	}
	return "", nil
}

// opener opens a blob's bytes for an upload, with a check to run once the
// upload is over (or nil): see Component.openUpload.
type opener func() (io.ReadCloser, func() error, error)

// sourceReader records the first error of reading a blob's source, so that
// a failed upload caused by the source (a file that changed or cannot be
// read) is reported as that, not as a failure of the target.
type sourceReader struct {
	io.ReadCloser
	err error
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

func (r *sourceReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// push makes sure the target has the blob: sent in one request for a
// small blob on a registry that takes single-POST uploads (monolithic.go),
// else mounted (or found) in one request for a small blob on a registry,
// else checked with Exists and uploaded if missing.
func (u *uploader) push(ctx context.Context, what, name string, desc ocispec.Descriptor, open opener) error {
	if u.mono.use(ctx, desc.Size) {
		done, err := u.pushMonolithic(ctx, what, name, desc, open)
		if done {
			return err
		}
	}
	if u.mounter != nil && desc.Size <= mountMaxSize && !u.noMount.Load() {
		opened := false
		var after func() error
		var src *sourceReader
		err := u.mounter.Mount(ctx, desc, u.mountRepo, func() (io.ReadCloser, error) {
			opened = true
			u.progress(Event{Kind: EventBlobUploading, Name: name, Descriptor: desc})
			rc, check, err := open()
			after = check
			if err != nil {
				return nil, err
			}
			src = &sourceReader{ReadCloser: rc}
			return readCloser{counting(src, name, desc, u.bytesProgress), src}, nil
		})
		if err != nil && src != nil && src.err != nil {
			err = src.err
		}
		switch {
		case err == nil && !opened:
			u.found(name, desc)
			return nil
		case opened:
			return u.finish(what, name, desc, err, after)
		case ctx.Err() != nil:
			return fmt.Errorf("push %s: %w: %w", what, ErrPush, err)
		}
		// The registry refused the request itself: check and upload as
		// for any target, and stop asking.
		u.noMount.Store(true)
		u.logger.Debug("registry refused a blob mount; checking blobs with HEAD", "error", err)
	}
	ok, err := u.target.Exists(ctx, desc)
	if err != nil {
		return fmt.Errorf("push %s: %w: check existence: %w", what, ErrPush, err)
	}
	if ok {
		u.found(name, desc)
		return nil
	}
	u.progress(Event{Kind: EventBlobUploading, Name: name, Descriptor: desc})
	rc, after, err := open()
	if err != nil {
		return fmt.Errorf("push %s: %w", what, err)
	}
	src := &sourceReader{ReadCloser: rc}
	defer src.Close()
	body := counting(src, name, desc, u.bytesProgress)
	if f, ok := rc.(*os.File); ok && u.bytesProgress == nil {
		// The file itself, so that net/http sends it with the kernel's
		// zero-copy path (sendfile(2) on Linux) to a registry over plain
		// HTTP; a read error of the file is then the transfer's error.
		body = f
	}
	err = u.target.Push(ctx, desc, body)
	switch {
	case errors.Is(err, errdef.ErrAlreadyExists):
		err = nil
	case err != nil && src.err != nil:
		return fmt.Errorf("push %s: %w", what, src.err)
	}
	return u.finish(what, name, desc, err, after)
}

// pushMonolithic uploads a small blob in a single POST. done is false when
// the registry does not take such uploads and stored nothing: the blob is
// then to be pushed the two-request way.
func (u *uploader) pushMonolithic(ctx context.Context, what, name string, desc ocispec.Descriptor, open opener) (done bool, err error) {
	u.progress(Event{Kind: EventBlobUploading, Name: name, Descriptor: desc})
	rc, after, err := open()
	if err != nil {
		u.mono.learn(monoUnknown)
		return true, fmt.Errorf("push %s: %w", what, err)
	}
	body, err := readSized(rc, desc.Size, desc.Size)
	rc.Close()
	if err != nil {
		u.mono.learn(monoUnknown)
		if after != nil {
			if aerr := after(); aerr != nil {
				return true, fmt.Errorf("push %s: %w", what, aerr)
			}
		}
		return true, fmt.Errorf("push %s: %w", what, err)
	}
	handled, err := u.mono.push(ctx, desc, body)
	if !handled {
		u.logger.Debug("registry refused a single-POST blob upload; uploading in two requests")
		return false, nil
	}
	return true, u.finish(what, name, desc, err, after)
}

// finish accounts for an upload that ended with err, after the check the
// opener gave (which turns any outcome into ErrComponentChanged when the
// file was modified meanwhile).
func (u *uploader) finish(what, name string, desc ocispec.Descriptor, err error, after func() error) error {
	if after != nil {
		if aerr := after(); aerr != nil {
			return fmt.Errorf("push %s: %w", what, aerr)
		}
	}
	if err != nil {
		return u.uploadError(what, err)
	}
	u.sent(name, desc)
	return nil
}

func (u *uploader) found(name string, desc ocispec.Descriptor) {
	u.skipped.Add(1)
	u.progress(Event{Kind: EventBlobSkipped, Name: name, Descriptor: desc})
}

func (u *uploader) sent(name string, desc ocispec.Descriptor) {
	u.uploaded.Add(1)
	u.bytes.Add(desc.Size)
	u.logger.Debug("uploaded blob", "name", name, "digest", desc.Digest, "size", desc.Size)
	u.progress(Event{Kind: EventBlobUploaded, Name: name, Descriptor: desc})
}

func (u *uploader) uploadError(what string, err error) error {
	if errors.Is(err, ErrComponentChanged) {
		return fmt.Errorf("push %s: %w", what, err)
	}
	return fmt.Errorf("push %s: %w: %w", what, ErrPush, err)
}
