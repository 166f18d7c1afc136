package referrer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/runid/runid-oci/pack"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// Defaults of the referrers-index check that Attach and Link run after
// pushing (see AttachOptions).
const (
	// DefaultIndexAttempts bounds how many times a referrer manifest is
	// pushed until the subject's referrers list it.
	DefaultIndexAttempts = 10
	// DefaultSettle is the least time waited before the final check of a
	// referrers tag-schema index.
	DefaultSettle = 200 * time.Millisecond
)

// OutputFile is one file of an output record (spec/SPEC.md §8.1).
type OutputFile struct {
	// Path is the file to read. It is hashed, then streamed again when
	// uploaded; it must not change in between.
	Path string
	// Name is the file's title in the record (the
	// org.opencontainers.image.title annotation), following the rules of
	// logical names (spec/SPEC.md §4.2). Default: the base name of Path.
	Name string
	// MediaType is the layer media type. Default: mediatype.Output.
	MediaType string
	// Data, if not nil, is the file's content, held in memory: Path is
	// then not read (and only names the file in errors), and Name is
	// required. The slice is not copied: do not change it until Attach
	// returns.
	Data []byte
}

// IndexOptions configure how Attach and Link make sure that the pushed
// referrer is listed by its subject. The zero value is valid.
//
// On a registry with the referrers API the registry indexes the referrer
// itself, and one listing confirms it. Without the API, oras-go keeps the
// referrers tag-schema index (tag sha256-<hex>) up to date with a
// read-modify-write that it serialises only within one process: two
// processes attaching to one subject at once can each write an index
// missing the other's referrer. So after the push the subject's referrers
// are listed again; a missing referrer is pushed again (which merges it
// into the current index) after a jittered backoff, up to Attempts times.
// When the listing comes from a tag-schema index, a referrer that is
// present is checked once more after a settle delay, so that a concurrent
// writer that read the index before our write, and writes after our first
// check, is caught too.
type IndexOptions struct {
	// Attempts bounds the pushes. Default: DefaultIndexAttempts.
	Attempts int
	// Settle is the least delay before the final check of a tag-schema
	// index; the delay grows to three times the duration of the last push
	// when that is longer, plus up to 50% jitter. Default: DefaultSettle.
	Settle time.Duration
}

func (o IndexOptions) withDefaults() IndexOptions {
	if o.Attempts <= 0 {
		o.Attempts = DefaultIndexAttempts
	}
	if o.Settle <= 0 {
		o.Settle = DefaultSettle
	}
	return o
}

// AttachOptions configure Attach. The zero value is valid.
type AttachOptions struct {
	// Execution holds facts about the execution that produced the files
	// (spec/SPEC.md §8.1): spec.FactInstanceID, spec.FactStartedAt,
	// spec.FactEndedAt, spec.FactStatus, spec.FactExitCode,
	// spec.FactServedModel, and any other member.
	Execution map[string]any
	// External lists descriptors of outputs stored elsewhere.
	External []ocispec.Descriptor
	// Annotations are added to the record manifest.
	Annotations map[string]string
	// Created is recorded as the org.opencontainers.image.created
	// annotation of the record, in RFC 3339 UTC to the second, unless
	// Annotations already has one. Default: now.
	Created time.Time
	// MaxMetadataSize caps the identity manifest and document read to check
	// the subject. Default: spec.DefaultMaxMetadataSize.
	MaxMetadataSize int64
	// Subject, if set, is the identity manifest's descriptor as Push
	// returned it (PushResult.Descriptor), for an identity that this
	// process pushed to target: Attach then does not read and parse the
	// identity again, and checks only that it is an image manifest of the
	// identity artifact type, that identityRef names its digest (a tag is
	// resolved) and that target has it. The record is the same either way.
	// Default: nil, the identity is read and checked (see Attach).
	Subject *ocispec.Descriptor
	// Concurrency is how many files are hashed or uploaded at once.
	// Default: pack.DefaultPushConcurrency.
	Concurrency int
	// Index configures the check that the subject lists the record.
	Index IndexOptions
	// Progress, if set, receives events; it may be called from several
	// goroutines at once.
	Progress func(pack.Event)
	// Logger receives debug logs, and a warning when a superseded
	// referrers index could not be deleted. Default: discard.
	Logger *slog.Logger
}

// AttachResult reports an attached output record.
type AttachResult struct {
	// Descriptor is the record manifest's descriptor, with its
	// artifactType and annotations.
	Descriptor ocispec.Descriptor
	// Subject is the identity manifest's descriptor.
	Subject ocispec.Descriptor
	// Files are the layers of the output files, in the order given.
	Files []ocispec.Descriptor
	// Record is the record as pushed.
	Record *spec.OutputRecord
	// IndexAttempts is how many times the record manifest was pushed until
	// the identity's referrers listed it (1 unless a concurrent writer
	// overwrote the referrers index).
	IndexAttempts int
}

// Attach pushes files as an output record of the run identity that
// identityRef (a tag or digest) names in target (spec/SPEC.md §8.1).
//
// The subject must exist and be a well-formed run identity: its manifest
// and identity document (each read through opts.MaxMetadataSize) must pass
// spec.ParseIdentity, and every layer blob must exist in target. Blobs are
// not downloaded; use pull.Verify for a full verification. A subject that
// does not exist fails with ErrNotFound, one that is not a run identity
// with ErrNotIdentity.
//
// Files are hashed as streams, then uploaded (skipping blobs the target
// has), then the record manifest is pushed with the identity as subject,
// and the identity's referrers are checked to list it (see IndexOptions).
// Bad files fail with ErrOutputFile, bad names with spec.ErrInvalidName or
// spec.ErrDuplicateName, bad execution facts with spec.ErrInvalidOutput.
func Attach(ctx context.Context, target oras.Target, identityRef string, files []OutputFile, opts AttachOptions) (AttachResult, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = pack.DefaultPushConcurrency
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var res AttachResult
	if err := spec.CheckExecution(opts.Execution); err != nil {
		return res, fmt.Errorf("attach: %w", err)
	}
	var subject ocispec.Descriptor
	var err error
	if opts.Subject != nil {
		subject, err = checkKnownSubject(ctx, target, identityRef, *opts.Subject)
	} else {
		subject, err = checkSubjectIdentity(ctx, target, identityRef, opts.MaxMetadataSize, opts.Concurrency)
	}
	if err != nil {
		return res, fmt.Errorf("attach to %s: %w", identityRef, err)
	}
	res.Subject = subject

	hashed, err := hashOutputFiles(ctx, files, opts.Concurrency)
	if err != nil {
		return res, fmt.Errorf("attach: %w", err)
	}
	layers := make([]ocispec.Descriptor, len(hashed))
	for i, f := range hashed {
		layers[i] = f.desc
	}
	annotations := maps.Clone(opts.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	if _, ok := annotations[mediatype.AnnotationCreated]; !ok {
		created := opts.Created
		if created.IsZero() {
			created = time.Now()
		}
		annotations[mediatype.AnnotationCreated] = created.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	rec, err := spec.BuildOutputRecord(subject, spec.OutputDocument{Execution: opts.Execution, External: opts.External}, layers, annotations)
	if err != nil {
		return res, fmt.Errorf("attach: %w", err)
	}
	res.Record, res.Files = rec, rec.Files()

	blobs := []pack.Blob{pack.BytesBlob("", rec.Manifest.Config, rec.DocumentBytes)}
	if len(hashed) == 0 {
		blobs = append(blobs, pack.BytesBlob("", spec.EmptyLayer(), ocispec.DescriptorEmptyJSON.Data))
	}
	for _, f := range hashed {
		blobs = append(blobs, pack.Blob{Name: f.desc.Annotations[mediatype.AnnotationTitle], Descriptor: f.desc, Open: f.open})
	}
	if _, err := pack.PushBlobs(ctx, target, blobs, pack.PushBlobsOptions{Concurrency: opts.Concurrency, Progress: opts.Progress, Logger: opts.Logger}); err != nil {
		return res, fmt.Errorf("attach: %w", err)
	}
	desc := rec.Descriptor()
	res.Descriptor = desc
	attempts, err := PushManifest(ctx, target, subject, desc, rec.ManifestBytes, opts.Index, opts.Logger)
	res.IndexAttempts = attempts
	if err != nil {
		return res, fmt.Errorf("attach: %w", err)
	}
	if opts.Progress != nil {
		opts.Progress(pack.Event{Kind: pack.EventManifestPushed, Descriptor: desc})
	}
	opts.Logger.Debug("attached output record", "record", desc.Digest, "identity", subject.Digest, "files", len(hashed), "attempts", attempts)
	return res, nil
}

// checkSubjectIdentity reads the manifest that ref names in store and checks that
// it is a well-formed run identity whose layer blobs all exist. It returns
// the identity manifest's descriptor (media type, digest and size of the
// bytes read).
func checkSubjectIdentity(ctx context.Context, store oras.ReadOnlyTarget, ref string, maxSize int64, concurrency int) (ocispec.Descriptor, error) {
	desc, _, err := readIdentity(ctx, store, ref, maxSize, concurrency)
	return desc, err
}

// ReadIdentity reads the run identity that ref (a tag or a digest) names in
// store, at most maxSize bytes for its manifest and its document
// (spec.DefaultMaxMetadataSize when <= 0), and checks that it is well formed
// and that its layer blobs exist, as Attach and Link check the identity
// they name. It does not hash the blobs: verifying is pull's job. A
// missing identity wraps ErrNotFound, a manifest that is not an identity
// ErrNotIdentity.
func ReadIdentity(ctx context.Context, store oras.ReadOnlyTarget, ref string, maxSize int64) (*spec.Identity, error) {
	_, id, err := readIdentity(ctx, store, ref, maxSize, pack.DefaultPushConcurrency)
	return id, err
}

func readIdentity(ctx context.Context, store oras.ReadOnlyTarget, ref string, maxSize int64, concurrency int) (ocispec.Descriptor, *spec.Identity, error) {
	desc, mbytes, err := fetchSubjectManifest(ctx, store, ref, maxSize)
	if err != nil {
		return desc, nil, err
	}
	m, err := spec.ParseManifest(mbytes)
	if err != nil {
		return desc, nil, fmt.Errorf("%w: %w", ErrNotIdentity, err)
	}
	if maxSize <= 0 {
		maxSize = spec.DefaultMaxMetadataSize
	}
	if m.Config.Size > maxSize || m.Config.Size < 0 {
		return desc, nil, fmt.Errorf("%w: identity document of %d bytes (cap %d)", ErrNotIdentity, m.Config.Size, maxSize)
	}
	doc, err := content.FetchAll(ctx, store, m.Config)
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return desc, nil, fmt.Errorf("%w: identity document %s is missing", ErrNotIdentity, m.Config.Digest)
		}
		return desc, nil, fmt.Errorf("read identity document: %w", err)
	}
	id, err := spec.ParseIdentity(mbytes, doc)
	if err != nil {
		return desc, nil, fmt.Errorf("%w: %w", ErrNotIdentity, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for _, l := range m.Layers {
		g.Go(func() error {
			ok, err := store.Exists(gctx, l)
			switch {
			case err != nil:
				return fmt.Errorf("check component %q: %w", l.Annotations[mediatype.AnnotationTitle], err)
			case !ok:
				return fmt.Errorf("%w: component %q (%s) is missing", ErrNotIdentity, l.Annotations[mediatype.AnnotationTitle], l.Digest)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return desc, nil, err
	}
	return desc, id, nil
}

// checkKnownSubject checks the identity descriptor that the caller
// vouches for (AttachOptions.Subject) against ref and store, without
// reading it, and returns it as checkSubjectIdentity would: media type,
// digest and size.
func checkKnownSubject(ctx context.Context, store oras.ReadOnlyTarget, ref string, known ocispec.Descriptor) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: known.MediaType, Digest: known.Digest, Size: known.Size}
	if known.MediaType != ocispec.MediaTypeImageManifest || (known.ArtifactType != "" && known.ArtifactType != mediatype.Identity) {
		return desc, fmt.Errorf("%w: AttachOptions.Subject is a %s of artifact type %q", ErrNotIdentity, known.MediaType, known.ArtifactType)
	}
	if err := known.Digest.Validate(); err != nil || known.Size <= 0 {
		return desc, fmt.Errorf("%w: AttachOptions.Subject has digest %q and size %d", ErrNotIdentity, known.Digest, known.Size)
	}
	named, err := digest.Parse(ref)
	if err != nil {
		if ref == "" {
			return desc, fmt.Errorf("%w: empty reference (want a tag or a digest)", ErrNotFound)
		}
		resolved, rerr := store.Resolve(ctx, ref)
		switch {
		case errors.Is(rerr, errdef.ErrNotFound):
			return desc, fmt.Errorf("%w: %s", ErrNotFound, ref)
		case rerr != nil:
			return desc, fmt.Errorf("resolve %s: %w", ref, rerr)
		}
		named = resolved.Digest
	}
	if named != known.Digest {
		return desc, fmt.Errorf("%w: %s names %s, but AttachOptions.Subject is %s", ErrNotIdentity, ref, named, known.Digest)
	}
	ok, err := store.Exists(ctx, desc)
	switch {
	case err != nil:
		return desc, fmt.Errorf("check %s: %w", known.Digest, err)
	case !ok:
		return desc, fmt.Errorf("%w: %s", ErrNotFound, known.Digest)
	}
	return desc, nil
}

// fetchSubjectManifest reads the manifest that ref names, at most maxSize bytes
// (spec.DefaultMaxMetadataSize when <= 0), and describes it by the digest
// of the bytes read. A digest reference must match the bytes.
func fetchSubjectManifest(ctx context.Context, store oras.ReadOnlyTarget, ref string, maxSize int64) (ocispec.Descriptor, []byte, error) {
	if maxSize <= 0 {
		maxSize = spec.DefaultMaxMetadataSize
	}
	if ref == "" {
		return ocispec.Descriptor{}, nil, fmt.Errorf("%w: empty reference (want a tag or a digest)", ErrNotFound)
	}
	claimed, data, err := oras.FetchBytes(ctx, store, ref, oras.FetchBytesOptions{MaxBytes: maxSize})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return ocispec.Descriptor{}, nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	case errors.Is(err, errdef.ErrSizeExceedsLimit):
		return ocispec.Descriptor{}, nil, fmt.Errorf("%w: manifest %s is over %d bytes", ErrTooLarge, ref, maxSize)
	case err != nil:
		return ocispec.Descriptor{}, nil, fmt.Errorf("fetch %s: %w", ref, err)
	}
	got := digest.FromBytes(data)
	if want, err := digest.Parse(ref); err == nil && want != got {
		return ocispec.Descriptor{}, nil, fmt.Errorf("fetch %s: the store served bytes that hash to %s", ref, got)
	}
	var head struct {
		MediaType string `json:"mediaType"`
	}
	_ = json.Unmarshal(data, &head)
	mt := head.MediaType
	if mt == "" {
		mt = claimed.MediaType
	}
	return ocispec.Descriptor{MediaType: mt, Digest: got, Size: int64(len(data))}, data, nil
}

type outputBlob struct {
	desc ocispec.Descriptor
	open func() (io.ReadCloser, error)
}

// hashOutputFiles checks names and hashes every file as a stream.
func hashOutputFiles(ctx context.Context, files []OutputFile, concurrency int) ([]outputBlob, error) {
	out := make([]outputBlob, len(files))
	seen := map[string]string{}
	for i, f := range files {
		name := f.Name
		if name == "" && f.Data == nil {
			name = filepath.Base(f.Path)
		}
		label := f.Path
		if label == "" {
			label = fmt.Sprintf("%q (in memory)", name)
		}
		if err := spec.ValidateName(name); err != nil {
			return nil, fmt.Errorf("output file %s: %w", label, err)
		}
		if prev, ok := seen[spec.NameKey(name)]; ok {
			return nil, fmt.Errorf("output file %s: %w %q (also %s); give one a name", label, spec.ErrDuplicateName, name, prev)
		}
		seen[spec.NameKey(name)] = label
		mt := f.MediaType
		if mt == "" {
			mt = mediatype.Output
		}
		out[i].desc = ocispec.Descriptor{MediaType: mt, Annotations: map[string]string{mediatype.AnnotationTitle: name}}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for i, f := range files {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			if f.Data != nil {
				out[i].desc.Digest, out[i].desc.Size = digest.FromBytes(f.Data), int64(len(f.Data))
				out[i].open = pack.BytesBlob("", out[i].desc, f.Data).Open
				return nil
			}
			file, err := os.Open(f.Path)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrOutputFile, err)
			}
			defer file.Close()
			st, err := file.Stat()
			if err != nil {
				return fmt.Errorf("%w: %v", ErrOutputFile, err)
			}
			if !st.Mode().IsRegular() {
				return fmt.Errorf("%w: %s is not a regular file (mode %s)", ErrOutputFile, f.Path, st.Mode().Type())
			}
			dg := digest.SHA256.Digester()
			n, err := io.Copy(dg.Hash(), file)
			d := dg.Digest()
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrOutputFile, f.Path, err)
			}
			name := out[i].desc.Annotations[mediatype.AnnotationTitle]
			out[i].desc.Digest, out[i].desc.Size = d, n
			path := f.Path
			out[i].open = func() (io.ReadCloser, error) {
				rc, err := pack.OpenUnchanged(path, name, d, n)
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrOutputFile, err)
				}
				return rc, nil
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

var errStopListing = errors.New("stop listing")

// referrerChecker returns a function that reports whether the subject's
// referrers (as target lists them) include d, or nil when target cannot
// list referrers.
func referrerChecker(target oras.ReadOnlyTarget) func(ctx context.Context, subject ocispec.Descriptor, d digest.Digest) (bool, error) {
	switch t := target.(type) {
	case registry.ReferrerLister:
		return func(ctx context.Context, subject ocispec.Descriptor, d digest.Digest) (bool, error) {
			found := false
			err := t.Referrers(ctx, subject, "", func(refs []ocispec.Descriptor) error {
				for _, r := range refs {
					if r.Digest == d {
						found = true
						return errStopListing
					}
				}
				return nil
			})
			if err != nil && !errors.Is(err, errStopListing) {
				return false, err
			}
			return found, nil
		}
	case content.ReadOnlyGraphStorage:
		return func(ctx context.Context, subject ocispec.Descriptor, d digest.Digest) (bool, error) {
			preds, err := t.Predecessors(ctx, subject)
			if err != nil {
				return false, err
			}
			for _, p := range preds {
				if p.Digest == d {
					return true, nil
				}
			}
			return false, nil
		}
	}
	return nil
}

// PushManifest pushes the manifest of a referrer of subject and makes sure
// the subject's referrers list it, pushing it again when a concurrent
// writer lost it from a tag-schema index (see IndexOptions). It returns how
// many times the manifest was pushed.
func PushManifest(ctx context.Context, target oras.Target, subject, desc ocispec.Descriptor, manifest []byte, o IndexOptions, logger *slog.Logger) (int, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o = o.withDefaults()
	listed := referrerChecker(target)
	if lister, ok := target.(registry.ReferrerLister); ok {
		// Listing first lets a remote repository learn whether the registry
		// has the referrers API; otherwise oras-go would maintain a
		// tag-schema index even on a registry that has the API (one that
		// does not answer pushes with an OCI-Subject header).
		err := lister.Referrers(ctx, subject, "", func([]ocispec.Descriptor) error { return errStopListing })
		if err != nil && !errors.Is(err, errStopListing) {
			return 0, fmt.Errorf("list referrers of %s: %w", subject.Digest, err)
		}
	}
	push := func() (time.Duration, error) {
		start := time.Now()
		err := target.Push(ctx, desc, bytes.NewReader(manifest))
		elapsed := time.Since(start)
		var re *remote.ReferrersError
		switch {
		case err == nil, errors.Is(err, errdef.ErrAlreadyExists):
			return elapsed, nil
		case errors.As(err, &re) && re.IsReferrersIndexDelete():
			// The index was updated; only the superseded one could not be
			// deleted: the registry does not delete manifests (stock
			// Distribution answers 405) or a concurrent writer deleted it
			// first. Nothing is wrong and nothing is to be done, so this is
			// information, not a warning.
			logger.Info("superseded referrers index left in place", "subject", subject.Digest, "error", err)
			return elapsed, nil
		}
		return elapsed, fmt.Errorf("push manifest: %w: %w", pack.ErrPush, err)
	}
	took, err := push()
	if err != nil {
		return 1, err
	}
	if listed == nil {
		return 1, nil
	}
	// Whether the subject's referrers live in a tag-schema index is decided
	// once, after the push (see usesTagSchemaAfterPush).
	tagSchema := usesTagSchemaAfterPush(ctx, target, subject.Digest)
	var ix *tagSchemaIndex
	if repo, ok := target.(*remote.Repository); ok && tagSchema {
		ix = &tagSchemaIndex{repo: repo, subject: subject, logger: logger}
		if err := ix.tag(ctx, desc, manifest); err != nil {
			return 1, err
		}
	}
	attempts, settled := 1, false
	for {
		found, err := listed(ctx, subject, desc.Digest)
		if err != nil {
			return attempts, fmt.Errorf("list referrers of %s: %w", subject.Digest, err)
		}
		if found && ix != nil {
			// Put back what a writer that read the index before others
			// wrote, and wrote after, dropped; then check again.
			repaired, err := ix.repair(ctx)
			if err != nil {
				return attempts, err
			}
			if repaired {
				settled = false
				continue
			}
		}
		if found {
			if settled || !tagSchema {
				return attempts, nil
			}
			settle := max(o.Settle, 3*took)
			if err := sleepCtx(ctx, settle+rand.N(settle/2+1)); err != nil {
				return attempts, err
			}
			settled = true
			continue
		}
		if ix != nil && ix.repairs < maxIndexRepairs {
			// Ours is tagged: put it back with any other lost entry, after
			// a jittered backoff that spreads the writers' rewrites.
			backoff := time.Duration(1+ix.repairs) * 20 * time.Millisecond
			if err := sleepCtx(ctx, backoff+rand.N(2*backoff)); err != nil {
				return attempts, err
			}
			repaired, err := ix.repair(ctx)
			if err != nil {
				return attempts, err
			}
			if repaired {
				settled = false
				continue
			}
		}
		if attempts >= o.Attempts {
			return attempts, fmt.Errorf("%w: %s is still not listed by %s after %d pushes", ErrReferrersIndex, desc.Digest, subject.Digest, attempts)
		}
		backoff := time.Duration(attempts) * 50 * time.Millisecond
		logger.Info("referrer missing from the subject's referrers; pushing it again", "referrer", desc.Digest, "subject", subject.Digest, "attempt", attempts+1)
		if err := sleepCtx(ctx, backoff+rand.N(backoff)); err != nil {
			return attempts, err
		}
		attempts++
		settled = false
		if took, err = push(); err != nil {
			return attempts, err
		}
	}
}

// usesTagSchema reports whether target has a referrers tag-schema tag for
// subject, that is, whether its referrers may come from an index that
// clients rewrite.
func usesTagSchema(ctx context.Context, target oras.ReadOnlyTarget, subject digest.Digest) bool {
	tag, err := FallbackTag(subject)
	if err != nil {
		return false
	}
	_, err = target.Resolve(ctx, tag)
	return err == nil
}

// usesTagSchemaAfterPush tells, once a manifest with a subject was pushed
// to target, whether the subject's referrers are kept in a tag-schema
// index. For a remote repository that is whether the registry lacks the
// referrers API, which oras-go learned while pushing: SetReferrersCapability
// then only reports whether it agrees (nil when the capability is already
// false). Asking for the index tag instead can miss it: a registry that
// deletes a superseded index by digest drops its tag for a moment when two
// writers' indexes meet.
func usesTagSchemaAfterPush(ctx context.Context, target oras.ReadOnlyTarget, subject digest.Digest) bool {
	if repo, ok := target.(*remote.Repository); ok {
		return repo.SetReferrersCapability(false) == nil
	}
	return usesTagSchema(ctx, target, subject)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
