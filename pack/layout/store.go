package layout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// ErrDamaged: the layout cannot be used as it is; runid-oci layout repair
// rebuilds it.
var ErrDamaged = errors.New("OCI layout damaged")

// ErrReadOnly: a write was asked of a store opened with Options.ReadOnly.
var ErrReadOnly = errors.New("OCI layout opened read-only")

// MaxManifestSize caps the manifests and indexes the store reads and
// accepts, as registries do.
const MaxManifestSize = 4 << 20

// DefaultLockTimeout bounds the wait for the layout's lock.
const DefaultLockTimeout = 2 * time.Minute

const (
	sidecarDir = ".runid"
	indexFile  = "index.json"
)

// Options say how to open a layout. The zero value opens an existing
// layout for reading and writing.
type Options struct {
	// Create creates the layout when the directory or its oci-layout and
	// index.json files do not exist. Default: a missing layout is an
	// error wrapping fs.ErrNotExist.
	Create bool
	// ReadOnly never writes to the directory: writes fail with
	// ErrReadOnly, and when the store's index is out of date (another
	// program wrote index.json) it is rebuilt in memory. Without it, an
	// out-of-date index is rebuilt on disk, or in memory when the
	// directory cannot be written.
	ReadOnly bool
	// StaleAge is how long a temporary file that carries no lock (oras-go's
	// ingest files, pull's .runid-tmp-* files) must go unmodified before
	// a writer removes it. Default: DefaultStaleAge.
	StaleAge time.Duration
	// LockTimeout bounds the wait for the layout's lock.
	// Default: DefaultLockTimeout.
	LockTimeout time.Duration

	// fs replaces the file system writes go through (tests).
	fs fileSystem
	// recent replaces DefaultRecentManifests (tests).
	recent int
	// maxDeferred replaces maxDeferred (tests).
	maxDeferred int
	// lowDelay replaces lowPriorityDelay (tests).
	lowDelay time.Duration
}

// deferredLimit is maxDeferred, or what replaces it.
func (o Options) deferredLimit() int {
	if o.maxDeferred > 0 {
		return o.maxDeferred
	}
	return maxDeferred
}

// patience is how long a push made with ctx waits for another push to
// flush its journal record before it flushes it itself: none for an
// urgent push, lowPriorityDelay for a low-priority one.
func (o Options) patience(ctx context.Context) time.Duration {
	switch {
	case !lowPriority(ctx):
		return 0
	case o.lowDelay > 0:
		return o.lowDelay
	}
	return lowPriorityDelay
}

func (o Options) recentManifests() int {
	if o.recent > 0 {
		return o.recent
	}
	return DefaultRecentManifests
}

func (o Options) staleAge() time.Duration {
	if o.StaleAge > 0 {
		return o.StaleAge
	}
	return DefaultStaleAge
}

func (o Options) lockTimeout() time.Duration {
	if o.LockTimeout > 0 {
		return o.LockTimeout
	}
	return DefaultLockTimeout
}

// Store is an OCI image layout directory opened for reading and writing.
// It is an oras.Target, a content.ReadOnlyGraphStorage (Predecessors
// lists referrers), a registry.TagLister and a content.Deleter, safe for
// concurrent use by goroutines and by processes sharing the directory.
type Store struct {
	root    string
	sidecar string
	tmpDir  string
	opts    Options
	fs      fileSystem
	lock    *flock.Flock
	lockMu  sync.Mutex

	// mem, when set, holds the tags and referrers the store could not
	// keep on disk (read-only, or the directory is not writable).
	mem *memIndex

	commits   groupCommit
	cleanOnce sync.Once
	// lastIndex is the index.json the last commit wrote; only used under
	// the layout's lock.
	lastIndex indexCache

	// sync tracks the blobs renamed into place before their content was
	// flushed (see deferSyncMax) and the directories with names not yet
	// flushed: a commit flushes them all at once, alongside the new
	// index.json, before it replaces index.json; a push whose listing is
	// deferred (SetDeferIndex) flushes its own.
	sync syncer

	// deferIndex: see SetDeferIndex.
	deferIndex atomic.Bool
	// urgent counts the deferred pushes waiting for a flush, which
	// background commits yield to.
	urgent urgency
	// unflushed holds the bytes of the small blobs a deferred push renamed
	// into place unflushed, by path, until they are flushed: the journal
	// record of the manifest that lists them takes them from here instead
	// of reading the files back.
	unflushed sync.Map

	// jmu guards jcur, the journal log deferred pushes append to, and
	// jlogs, this store's journal logs not yet removed (see journalLog).
	jmu   sync.Mutex
	jcur  *journalLog
	jlogs map[string]*journalLog
}

// knownBlob reports whether the small blob at path is one this store
// renamed into place and has not flushed yet, or one it knows to be
// flushed.
func (s *Store) knownBlob(path string) bool { return s.sync.known(path) }

// deferSyncMax is the largest blob whose content is flushed by the commit
// that follows rather than before it is renamed into place. A push then
// pays one round of flushes (its blobs, its manifest, its directories and
// index.json at once) instead of three in a row (blobs, then manifest,
// then commit), and concurrent pushes share it. Until that commit such a
// blob can be in place unflushed; a crash then can leave it damaged, so
// Exists checks the digest of a blob this size before it reports it
// stored, and flushes a recent one (see existsDurable).
const deferSyncMax = 1 << 20

// recentWrite is how recently a blob must have been written for Exists to
// flush it: the kernel writes dirty pages back within 30 s by default.
const recentWrite = 2 * time.Minute

// keepUnflushed keeps the bytes of the small blob at path, about to be
// noted unflushed (deferFile), until the syncer flushes it.
func (s *Store) keepUnflushed(path string, b []byte) { s.unflushed.Store(path, b) }

// unflushedBytes returns the bytes kept for the blob at path, if they are
// size bytes long.
func (s *Store) unflushedBytes(path string, size int64) ([]byte, bool) {
	v, ok := s.unflushed.Load(path)
	if !ok {
		return nil, false
	}
	b := v.([]byte)
	return b, int64(len(b)) == size
}

// deferFile notes that the blob at path, just renamed into place, and
// its directory, are to be flushed by the next commit.
func (s *Store) deferFile(path string) {
	s.sync.markFile(path)
	s.sync.markDir(filepath.Dir(path))
}

// deferDir notes that dir has a new name that the next commit flushes.
func (s *Store) deferDir(dir string) error {
	s.sync.markDir(dir)
	return nil
}

// flushDirs flushes every file and directory noted by deferFile and
// deferDir, in one round.
func (s *Store) flushDirs() error { return s.sync.flushAll(flushParallel, nil) }

// writeDeferred writes path atomically, its directory flushed by the next
// commit.
func (s *Store) writeDeferred(path string, data []byte) error {
	return writeAtomicFrom(s.fs, s.tmpDir, path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, s.deferDir)
}

// Open opens the OCI image layout at dir.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.fs == nil {
		opts.fs = osFS{}
	}
	s := &Store{
		root:    dir,
		sidecar: filepath.Join(dir, sidecarDir),
		opts:    opts,
		fs:      opts.fs,
	}
	s.tmpDir = filepath.Join(s.sidecar, "tmp")
	s.commits.store = s
	s.sync.fs = s.fs
	s.sync.onFlushed = func(p string) { s.unflushed.Delete(p) }

	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return nil, fmt.Errorf("open OCI layout %s: not a directory", dir)
	case errors.Is(err, fs.ErrNotExist) && opts.Create && !opts.ReadOnly:
		if err := s.fs.MkdirAll(dir, 0o777); err != nil {
			return nil, fmt.Errorf("create OCI layout %s: %w", dir, err)
		}
	case err != nil:
		return nil, fmt.Errorf("open OCI layout %s: %w", dir, err)
	}
	if !opts.ReadOnly {
		if err := s.prepare(ctx); err != nil {
			if !isUnwritable(err) {
				return nil, err
			}
			// A layout this user cannot write is read, as with ReadOnly.
			s.opts.ReadOnly = true
		}
	}
	if err := s.checkLayoutFiles(); err != nil {
		return nil, err
	}
	if err := s.ensureFresh(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

var errReadOnlyFS = syscall.EROFS

func isUnwritable(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, errReadOnlyFS)
}

// prepare creates the sidecar directories, the lock and, with
// Options.Create, the layout files.
func (s *Store) prepare(ctx context.Context) error {
	for _, d := range []string{s.tmpDir, filepath.Join(s.sidecar, "tags"), filepath.Join(s.sidecar, "referrers"), filepath.Join(s.sidecar, "deleted")} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			continue
		}
		if err := s.fs.MkdirAll(d, 0o777); err != nil {
			return fmt.Errorf("open OCI layout %s: %w", s.root, err)
		}
	}
	s.lock = flock.New(filepath.Join(s.sidecar, "lock"), flock.SetPermissions(0o666))
	if !s.opts.Create {
		return nil
	}
	_, errLayout := os.Stat(filepath.Join(s.root, ocispec.ImageLayoutFile))
	_, errIndex := os.Stat(filepath.Join(s.root, indexFile))
	if errLayout == nil && errIndex == nil {
		return nil
	}
	unlock, err := s.lockLayout(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(s.root, ocispec.ImageLayoutFile)); errors.Is(err, fs.ErrNotExist) {
		b, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
		if err := writeAtomic(s.fs, s.tmpDir, filepath.Join(s.root, ocispec.ImageLayoutFile), b); err != nil {
			return fmt.Errorf("create OCI layout %s: %w", s.root, err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.root, indexFile)); errors.Is(err, fs.ErrNotExist) {
		if err := s.writeIndex(emptyIndex()); err != nil {
			return fmt.Errorf("create OCI layout %s: %w", s.root, err)
		}
	}
	return nil
}

func emptyIndex() *ocispec.Index {
	return &ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{},
	}
}

// checkLayoutFiles checks the oci-layout file.
func (s *Store) checkLayoutFiles() error {
	p := filepath.Join(s.root, ocispec.ImageLayoutFile)
	b, err := readCapped(p, 4096)
	if err != nil {
		return fmt.Errorf("open OCI layout %s: %w", s.root, err)
	}
	var l ocispec.ImageLayout
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("open OCI layout %s: %s: %w: %v", s.root, p, ErrDamaged, err)
	}
	if l.Version != ocispec.ImageLayoutVersion {
		return fmt.Errorf("open OCI layout %s: %s: unsupported imageLayoutVersion %q", s.root, p, l.Version)
	}
	return nil
}

// readCapped reads a regular file of at most limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, over the limit of %d", path, fi.Size(), limit)
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// Root is the layout's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("%s: %w", d, errdef.ErrInvalidDigest)
	}
	return filepath.Join(s.root, ocispec.ImageBlobsDir, d.Algorithm().String(), d.Encoded()), nil
}

// Fetch opens the blob target names. It refuses a blob whose file is not
// a regular file or whose size is not target.Size.
func (s *Store) Fetch(_ context.Context, target ocispec.Descriptor) (io.ReadCloser, error) {
	p, err := s.blobPath(target.Digest)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: blob %s is not a regular file", s.root, target.Digest)
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %s: %w", target.Digest, target.MediaType, errdef.ErrNotFound)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: blob %s is not a regular file", s.root, target.Digest)
	}
	if fi.Size() != target.Size {
		f.Close()
		return nil, fmt.Errorf("%s: blob %s: %d bytes, want %d: %w", s.root, target.Digest, fi.Size(), target.Size, content.ErrMismatchedDigest)
	}
	return f, nil
}

// Exists reports whether the blob target names is stored. A blob of at
// most 1 MiB is reported only when its content has target's digest, and
// one written in the last two minutes is flushed first, so that a writer
// that finds it stored (and so does not write it) can rely on it.
func (s *Store) Exists(_ context.Context, target ocispec.Descriptor) (bool, error) {
	p, err := s.blobPath(target.Digest)
	if err != nil {
		return false, err
	}
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() {
		return false, nil
	}
	if fi.Size() > deferSyncMax || target.Size > deferSyncMax {
		return true, nil
	}
	return s.existsDurable(p, fi, target)
}

// existsDurable reports whether the small blob at p holds target, and
// flushes it when it was written recently: it may have been renamed into
// place by a writer whose commit has not flushed it yet (another
// process), or left damaged by a crash before that commit. A blob this
// store wrote is neither read nor flushed: its commit flushes it, before
// any commit that follows (a flush costs a flush of the disk's cache on
// some file systems, even for a file with nothing to write).
func (s *Store) existsDurable(p string, fi os.FileInfo, target ocispec.Descriptor) (bool, error) {
	if fi.Size() != target.Size {
		return false, nil
	}
	if s.knownBlob(p) {
		return true, nil
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	v := target.Digest.Verifier()
	if _, err := io.Copy(v, io.LimitReader(f, deferSyncMax+1)); err != nil {
		return false, err
	}
	if !v.Verified() {
		return false, nil
	}
	if !s.opts.ReadOnly && time.Since(fi.ModTime()) < recentWrite {
		if err := f.Sync(); err != nil {
			return false, fmt.Errorf("flush %s: %w", p, err)
		}
	}
	s.sync.noteFlushed(p)
	return true, nil
}

// Push stores a blob, verifying its digest and size. When Push of a
// manifest returns nil, the manifest, its listing in index.json and as a
// referrer of its subject, and every blob pushed before it through this
// store survive a crash: each blob's content is flushed before it is
// renamed into place, and the commit of the manifest flushes the renames
// of all of them at once. A manifest or index larger than MaxManifestSize
// is refused.
func (s *Store) Push(ctx context.Context, expected ocispec.Descriptor, r io.Reader) error {
	return s.push(ctx, expected, r, "")
}

// PushReference stores a manifest as Push does and makes the tag
// reference name it, both in one commit: a tagged push replaces index.json
// once, not twice. A manifest already stored is only tagged. A digest
// reference must be expected's digest.
func (s *Store) PushReference(ctx context.Context, expected ocispec.Descriptor, r io.Reader, reference string) error {
	if reference == "" {
		return errdef.ErrMissingReference
	}
	if d, err := digest.Parse(reference); err == nil {
		if d != expected.Digest {
			return fmt.Errorf("%w: digest %s does not name %s", errdef.ErrInvalidReference, reference, expected.Digest)
		}
		reference = ""
	} else if !tagPattern.MatchString(reference) {
		return fmt.Errorf("%w: %q is not a valid tag", errdef.ErrInvalidReference, reference)
	}
	err := s.push(ctx, expected, r, reference)
	if errors.Is(err, errdef.ErrAlreadyExists) {
		if reference == "" {
			return s.Tag(ctx, expected, expected.Digest.String())
		}
		return s.Tag(ctx, expected, reference)
	}
	return err
}

// push is Push, tagging the manifest tag in the same commit when tag is
// not empty.
func (s *Store) push(ctx context.Context, expected ocispec.Descriptor, r io.Reader, tag string) error {
	if s.opts.ReadOnly {
		return fmt.Errorf("push to %s: %w", s.root, ErrReadOnly)
	}
	s.cleanOnce.Do(func() { s.cleanLeftovers() })
	path, err := s.blobPath(expected.Digest)
	if err != nil {
		return err
	}
	manifest := isManifest(expected.MediaType)
	if manifest && expected.Size > MaxManifestSize {
		return fmt.Errorf("push %s: manifest of %d bytes, over the limit of %d", expected.Digest, expected.Size, MaxManifestSize)
	}
	if ok, err := s.Exists(ctx, expected); err != nil {
		return err
	} else if ok {
		if manifest && s.deferring() {
			// Stored by a push that may still be flushing it: the caller
			// relies on it once this returns.
			if err := s.flushWithParents(path); err != nil {
				return fmt.Errorf("push %s to %s: %w", expected.Digest, s.root, err)
			}
		}
		return fmt.Errorf("%s: %s: %w", expected.Digest, expected.MediaType, errdef.ErrAlreadyExists)
	}
	// A manifest's bytes are parsed below; with deferred listing, a small
	// blob's go into its journal record (see keepUnflushed).
	keep := expected.Size <= deferSyncMax && s.deferring()
	var buf *bytes.Buffer
	if manifest || keep {
		buf = bytes.NewBuffer(make([]byte, 0, expected.Size))
		r = io.TeeReader(r, buf)
	}
	if err := s.mkdirDurable(filepath.Dir(path), 2); err != nil {
		return err
	}
	fill := func(w io.Writer) error {
		vr := content.NewVerifyReader(r, expected)
		if err := copyPooled(w, vr); err != nil {
			return err
		}
		return vr.Verify()
	}
	if expected.Size <= deferSyncMax {
		after := s.deferFile
		if keep {
			after = func(p string) { s.keepUnflushed(p, buf.Bytes()); s.deferFile(p) }
		}
		err = writeRenamedUnflushed(s.fs, s.tmpDir, path, fill, after)
	} else {
		err = writeAtomicFrom(s.fs, s.tmpDir, path, fill, s.deferDir)
	}
	if err != nil {
		return fmt.Errorf("push %s to %s: %w", expected.Digest, s.root, err)
	}
	var tags map[string]ocispec.Descriptor
	if tag != "" {
		d := expected
		d.Annotations = withoutRefName(expected.Annotations)
		tags = map[string]ocispec.Descriptor{tag: d}
	}
	if !manifest {
		if tags != nil {
			return s.commits.commit(ctx, commitRequest{tags: tags})
		}
		return nil
	}
	desc, subject, err := describeManifest(expected, buf.Bytes())
	if err != nil {
		// Stored as pushed; it is not a manifest this store can index.
		if tags != nil {
			return s.commits.commit(ctx, commitRequest{tags: tags})
		}
		return nil
	}
	if subject != nil {
		if err := s.putReferrerUnflushed(*subject, desc); err != nil {
			return fmt.Errorf("push %s to %s: record referrer: %w", expected.Digest, s.root, err)
		}
	}
	if err := s.clearTombstone(expected.Digest); err != nil {
		return fmt.Errorf("push %s to %s: %w", expected.Digest, s.root, err)
	}
	if tags == nil && s.deferring() {
		if err := s.pushDeferred(s.opts.patience(ctx), desc, path, buf.Bytes()); err != nil {
			return fmt.Errorf("push %s to %s: %w", expected.Digest, s.root, err)
		}
		return nil
	}
	return s.commits.commit(ctx, commitRequest{manifests: []ocispec.Descriptor{listed(desc)}, tags: tags})
}

// isManifest reports whether a media type is one of a manifest or index.
func isManifest(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

// describeManifest returns the descriptor of a manifest as a referrers
// listing gives it (with artifactType and annotations), and its subject.
func describeManifest(desc ocispec.Descriptor, b []byte) (ocispec.Descriptor, *ocispec.Descriptor, error) {
	var m struct {
		MediaType    string              `json:"mediaType"`
		ArtifactType string              `json:"artifactType"`
		Config       *ocispec.Descriptor `json:"config"`
		Subject      *ocispec.Descriptor `json:"subject"`
		Annotations  map[string]string   `json:"annotations"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return desc, nil, err
	}
	out := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	if out.MediaType == "" {
		out.MediaType = m.MediaType
	}
	out.ArtifactType = m.ArtifactType
	if out.ArtifactType == "" && m.Config != nil && out.MediaType == ocispec.MediaTypeImageManifest {
		out.ArtifactType = m.Config.MediaType
	}
	out.Annotations = m.Annotations
	return out, m.Subject, nil
}

// listed is the descriptor a segment lists for a manifest.
func listed(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: d.ArtifactType}
}

var tagPattern = lazyRegexp{compile: sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
})}

// lazyRegexp is a regular expression compiled on its first use: the
// bounded repetition above compiles to a large program, which a process
// that never names a tag should not pay for when it starts.
type lazyRegexp struct{ compile func() *regexp.Regexp }

// MatchString reports whether s matches the expression.
func (l lazyRegexp) MatchString(s string) bool { return l.compile().MatchString(s) }

// Tag makes reference name desc, which must be stored. A digest
// reference equal to desc's digest only makes sure index.json lists it.
func (s *Store) Tag(ctx context.Context, desc ocispec.Descriptor, reference string) error {
	if s.opts.ReadOnly {
		return fmt.Errorf("tag in %s: %w", s.root, ErrReadOnly)
	}
	if reference == "" {
		return errdef.ErrMissingReference
	}
	if ok, err := s.Exists(ctx, desc); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s: %s: %w", desc.Digest, desc.MediaType, errdef.ErrNotFound)
	}
	if d, err := digest.Parse(reference); err == nil {
		if d != desc.Digest {
			return fmt.Errorf("%w: digest %s does not name %s", errdef.ErrInvalidReference, reference, desc.Digest)
		}
		return s.commits.commit(ctx, commitRequest{manifests: []ocispec.Descriptor{listed(desc)}})
	}
	if !tagPattern.MatchString(reference) {
		return fmt.Errorf("%w: %q is not a valid tag", errdef.ErrInvalidReference, reference)
	}
	d := desc
	d.Annotations = withoutRefName(desc.Annotations)
	return s.commits.commit(ctx, commitRequest{tags: map[string]ocispec.Descriptor{reference: d}})
}

func withoutRefName(a map[string]string) map[string]string {
	if _, ok := a[ocispec.AnnotationRefName]; !ok {
		return a
	}
	out := make(map[string]string, len(a))
	for k, v := range a {
		if k != ocispec.AnnotationRefName {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Resolve returns the descriptor a tag or a digest names. A digest
// resolves to a plain descriptor (media type, digest, size); the media
// type is read from the manifest, or is application/octet-stream for a
// blob that is not one.
func (s *Store) Resolve(_ context.Context, reference string) (ocispec.Descriptor, error) {
	if reference == "" {
		return ocispec.Descriptor{}, errdef.ErrMissingReference
	}
	if d, err := digest.Parse(reference); err == nil {
		return s.resolveDigest(d)
	}
	if !tagPattern.MatchString(reference) {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", reference, errdef.ErrNotFound)
	}
	desc, ok, err := s.tag(reference)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if !ok {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", reference, errdef.ErrNotFound)
	}
	return desc, nil
}

func (s *Store) resolveDigest(d digest.Digest) (ocispec.Descriptor, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", d, errdef.ErrNotFound)
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", d, errdef.ErrNotFound)
	}
	desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: fi.Size()}
	if fi.Size() > MaxManifestSize {
		return desc, nil
	}
	b, err := readCapped(p, MaxManifestSize)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if mt := sniffManifest(b); mt != "" {
		desc.MediaType = mt
	}
	return desc, nil
}

// sniffManifest returns the media type of a manifest or index, or "".
func sniffManifest(b []byte) string {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return ""
	}
	var m struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		Config        json.RawMessage   `json:"config"`
		Manifests     []json.RawMessage `json:"manifests"`
	}
	if json.Unmarshal(b, &m) != nil || m.SchemaVersion != 2 {
		return ""
	}
	switch {
	case isManifest(m.MediaType):
		return m.MediaType
	case m.MediaType != "":
		return ""
	case m.Config != nil:
		return ocispec.MediaTypeImageManifest
	case m.Manifests != nil:
		return ocispec.MediaTypeImageIndex
	}
	return ""
}

// Tags lists the layout's tags in ascending order, those after last.
func (s *Store) Tags(_ context.Context, last string, fn func(tags []string) error) error {
	tags, err := s.tagNames()
	if err != nil {
		return err
	}
	i := 0
	if last != "" {
		i = sort.SearchStrings(tags, last)
		if i < len(tags) && tags[i] == last {
			i++
		}
	}
	if i >= len(tags) {
		return nil
	}
	return fn(tags[i:])
}

// Predecessors returns the manifests whose subject is node (its
// referrers), from the store's referrers index: it reads no other
// manifest. Other predecessors (an index listing node, a manifest listing
// it as a layer) are not returned.
func (s *Store) Predecessors(_ context.Context, node ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	return s.referrers(node.Digest)
}

// Delete removes a blob. A manifest is removed from its subject's
// referrers and marked deleted (segments already listing it keep a
// reference to it, which check and repair expect); tags naming it are
// left as they are.
func (s *Store) Delete(ctx context.Context, target ocispec.Descriptor) error {
	if s.opts.ReadOnly {
		return fmt.Errorf("delete from %s: %w", s.root, ErrReadOnly)
	}
	p, err := s.blobPath(target.Digest)
	if err != nil {
		return err
	}
	if ok, err := s.Exists(ctx, target); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s: %s: %w", target.Digest, target.MediaType, errdef.ErrNotFound)
	}
	if b, err := readCapped(p, MaxManifestSize); err == nil && sniffManifest(b) != "" {
		_, subject, _ := describeManifest(target, b)
		if err := s.putTombstone(target.Digest); err != nil {
			return fmt.Errorf("delete %s: %w", target.Digest, err)
		}
		if subject != nil {
			if err := s.removeReferrer(subject.Digest, target.Digest); err != nil {
				return fmt.Errorf("delete %s: %w", target.Digest, err)
			}
		}
	}
	if err := s.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", target.Digest, err)
	}
	s.sync.forget(p)
	return s.fs.SyncDir(filepath.Dir(p))
}

// lockLayout takes the layout's lock, waiting at most the lock timeout.
func (s *Store) lockLayout(ctx context.Context) (func(), error) {
	if s.lock == nil {
		return nil, fmt.Errorf("lock %s: %w", s.root, ErrReadOnly)
	}
	// The lock is one open file: goroutines take turns on it first.
	s.lockMu.Lock()
	ctx, cancel := context.WithTimeout(ctx, s.opts.lockTimeout())
	defer cancel()
	ok, err := s.lock.TryLockContext(ctx, 2*time.Millisecond)
	if err != nil || !ok {
		if err == nil {
			err = ctx.Err()
		}
		s.lockMu.Unlock()
		return nil, fmt.Errorf("lock OCI layout %s: %w", s.root, err)
	}
	return func() { s.lock.Unlock(); s.lockMu.Unlock() }, nil
}

// splitDigestName parses "<alg>-<hex>", the file name form of a digest.
func splitDigestName(name string) (digest.Digest, bool) {
	alg, hex, ok := strings.Cut(name, "-")
	if !ok {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
	return d, d.Validate() == nil
}

func digestName(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded()
}

// copyBuffers are the buffers blobs are copied into their files with.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyPooled copies r to w through a pooled buffer. io.Copy into an
// *os.File from a reader that is not a file allocates a new 32 KiB buffer
// each time (os.File.ReadFrom falls back to it): for the recording proxy,
// which writes several small blobs per request, that would be a quarter
// of all the memory it allocates, and of its garbage collections.
func copyPooled(w io.Writer, r io.Reader) error {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	// Neither side may take over the copy (ReadFrom, WriteTo): the buffer
	// is what avoids the allocation.
	_, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, *bp)
	return err
}
