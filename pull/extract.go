package pull

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/text/unicode/norm"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/spec"
)

// tempPrefix starts the name of every temporary file Pull writes at the top
// of the extraction directory. A component name starting with it is refused.
const tempPrefix = ".runid-tmp-"

// PullOptions configure Pull. The zero value is valid.
type PullOptions struct {
	Options
	// Overwrite replaces files that already exist at a component's name.
	// Default: false, and an existing file fails the pull with ErrExists
	// before anything is fetched. A directory or a symbolic link at a
	// component's name is never replaced.
	Overwrite bool
	// Declaration, if set, is the name in dir (such as "runid.yaml") at
	// which Pull also writes a declaration that builds to the identity
	// from the files it extracts (spec.RebuildDeclaration), as a component
	// is written: after everything verified, under the same rules of
	// names, Overwrite and roll back. A component of that name is an
	// error (ErrUnsafePath). Withheld components are declared withheld:
	// the declaration builds to the identity only once their files are put
	// at their names and the owner's withhold secret is given. Nothing is
	// written for an output record. Default: none.
	Declaration string
	// NoSync skips making the written files durable. By default every
	// file is flushed to disk (fsync) as its blob finishes, before the
	// blob is reported verified, and every directory that gained a name
	// is flushed after the files are moved to their names; a crash after
	// Pull returns then cannot leave a file empty or cut short. With
	// NoSync the files are only in the page cache when Pull returns, as
	// with `oras pull`: faster where the disk is slower than the network,
	// for a directory that need not survive a crash. Default: false.
	NoSync bool
}

// Pull verifies the identity that ref names in src exactly as Verify does,
// and writes every disclosed component to dir at its logical name. dir is
// created if it does not exist. Withheld components are verified but not
// written. No archive is unpacked: each component is one file.
//
// When ref names an output record (spec/SPEC.md §8.1), Pull verifies the
// record and its identity as Verify does, and writes the record's files at
// their titles; Report.Identity then lists them as components of role
// RoleOutput.
//
// Before anything is fetched, every name is checked again here (whatever
// the structural checks said): it must pass spec.ValidateName, no existing
// element of its path below dir may be a symbolic link or a non-directory
// (ErrUnsafePath, naming the element), and no file may exist at the name
// unless opts.Overwrite (ErrExists). All file operations go through an
// os.Root opened at dir, so no path can leave it.
//
// Blobs are streamed into temporary files at the top of dir (".runid-tmp-*")
// and renamed to their names only after every blob has verified; a blob
// shared by several components is fetched once and copied. On any failure
// the temporary files, and any file or directory this call created, are
// removed: dir holds only what it held before (files replaced under
// Overwrite stay replaced).
//
// The error is a *VerificationError when the identity does not verify (the
// report says why), and any other error when it could not be checked or
// written. The report is nil when the identity or a blob could not be read.
func Pull(ctx context.Context, src oras.ReadOnlyTarget, ref, dir string, opts PullOptions) (rep *Report, err error) {
	o := opts.Options.withDefaults()
	rep = newReport(ref)
	id, err := inspectForPull(ctx, src, ref, opts, o, rep)
	if err != nil {
		return nil, err
	}
	if id == nil {
		return rep, rep.err()
	}
	if dir == "" {
		return rep, fmt.Errorf("pull %s: %w: empty directory", ref, ErrUnsafePath)
	}
	if _, serr := os.Lstat(dir); errors.Is(serr, fs.ErrNotExist) {
		// Created here: removed again on failure (if still empty).
		defer func() {
			if err != nil {
				_ = os.Remove(dir)
			}
		}()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rep, fmt.Errorf("pull %s: create directory: %w", ref, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return rep, fmt.Errorf("pull %s: open directory: %w", ref, err)
	}
	defer root.Close()

	plan, err := planExtraction(root, id, opts.Overwrite)
	if err != nil {
		return rep, err
	}
	declName := opts.Declaration
	if rep.Record != nil {
		declName = ""
	}
	if declName != "" {
		if err := planDeclaration(root, id, declName, opts.Overwrite); err != nil {
			return rep, err
		}
	}
	x := &extraction{root: root, sync: !opts.NoSync, temps: map[digest.Digest]string{}, live: map[string]bool{}}
	defer x.cleanup(o)
	err = verifyBlobs(ctx, src, id, o, rep, x.sinkFor)
	if cerr := x.closeFiles(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := rep.err(); err != nil {
		return rep, err
	}
	if declName != "" {
		p, err := x.declaration(ctx, src, id, declName, o)
		if err != nil {
			return rep, err
		}
		plan = append(plan, p)
	}
	if err := x.commit(ctx, plan, o, opts.Overwrite); err != nil {
		return rep, err
	}
	return rep, nil
}

// placement is one file to write.
type placement struct {
	name string
	desc ocispec.Descriptor
}

// planExtraction checks every disclosed component's name and the paths it
// would take in root, before any byte is fetched: no two names may be the
// same file once letter case and Unicode normalization are ignored, and no
// name may be the directory of another.
func planExtraction(root *os.Root, id *Identity, overwrite bool) ([]placement, error) {
	var plan []placement
	keys := map[string]string{}
	for i, c := range id.Document.Components {
		if c.Withheld() {
			continue
		}
		exists, err := checkPath(root, c.Name)
		if err != nil {
			return nil, err
		}
		if exists && !overwrite {
			return nil, fmt.Errorf("extract component %q: %w (pass Overwrite to replace it)", c.Name, ErrExists)
		}
		k := collisionKey(c.Name)
		if prev, dup := keys[k]; dup {
			return nil, fmt.Errorf("extract component %q: %w: same file as component %q", c.Name, ErrUnsafePath, prev)
		}
		keys[k] = c.Name
		plan = append(plan, placement{name: c.Name, desc: plain(id.Manifest.Layers[i])})
	}
	for _, p := range plan {
		k := collisionKey(p.name)
		for d := path.Dir(k); d != "."; d = path.Dir(d) {
			if other, ok := keys[d]; ok {
				return nil, fmt.Errorf("extract component %q: %w: its directory %q is also the component %q", p.name, ErrUnsafePath, d, other)
			}
		}
	}
	return plan, nil
}

// collisionKey is the key under which two names are the same file on a
// case-insensitive or normalization-insensitive file system (spec/SPEC.md
// §11.2): lower case, Unicode NFC.
func collisionKey(name string) string { return norm.NFC.String(strings.ToLower(name)) }

// checkPath validates name for extraction below root and reports whether a
// regular file already exists there. It refuses (ErrUnsafePath) a name that
// fails spec.ValidateName or is not local, a name starting with ".runid-tmp-",
// and a path any existing element of which is a symbolic link, or, for a
// parent, not a directory. A directory at the name itself is ErrExists.
func checkPath(root *os.Root, name string) (exists bool, err error) {
	if err := spec.ValidateName(name); err != nil {
		return false, fmt.Errorf("extract component %q: %w: %w", name, ErrUnsafePath, err)
	}
	native := filepath.FromSlash(name)
	if !filepath.IsLocal(native) {
		return false, fmt.Errorf("extract component %q: %w: not a local path on this system", name, ErrUnsafePath)
	}
	if strings.HasPrefix(name, tempPrefix) {
		return false, fmt.Errorf("extract component %q: %w: names starting with %s are reserved for temporary files", name, ErrUnsafePath, tempPrefix)
	}
	segs := strings.Split(name, "/")
	for i := 1; i <= len(segs); i++ {
		p := strings.Join(segs[:i], "/")
		fi, err := root.Lstat(filepath.FromSlash(p))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("extract component %q: %w: %w", name, ErrUnsafePath, err)
		}
		last := i == len(segs)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return false, fmt.Errorf("extract component %q: %w: %q is a symbolic link", name, ErrUnsafePath, p)
		case !last && !fi.IsDir():
			return false, fmt.Errorf("extract component %q: %w: %q exists and is not a directory", name, ErrUnsafePath, p)
		case last && fi.IsDir():
			return false, fmt.Errorf("extract component %q: %w: it is a directory", name, ErrExists)
		case last && !fi.Mode().IsRegular():
			return false, fmt.Errorf("extract component %q: %w: %q exists and is not a regular file (mode %s)", name, ErrUnsafePath, p, fi.Mode().Type())
		}
	}
	return true, nil
}

// extraction tracks the temporary files, files and directories of one Pull.
type extraction struct {
	root *os.Root
	sync bool // flush files and directories (PullOptions.NoSync unset)

	mu    sync.Mutex
	temps map[digest.Digest]string // verified (or being verified) blob → temp name
	live  map[string]bool          // temp names still on disk
	files []*os.File               // open temp files

	written []string // files created (not replaced) by commit
	dirs    []string // directories created by commit, parents first
}

func tempName() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return tempPrefix + hex.EncodeToString(b[:]), nil
}

func (x *extraction) createTemp() (*os.File, string, error) {
	name, err := tempName()
	if err != nil {
		return nil, "", err
	}
	f, err := x.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, "", fmt.Errorf("create temporary file: %w", err)
	}
	x.mu.Lock()
	x.live[name] = true
	x.mu.Unlock()
	return f, name, nil
}

// sinkFor gives a blob that will be written a temporary file, and any
// other blob a sink that discards.
func (x *extraction) sinkFor(job blobJob) (sink, error) {
	if !job.extract {
		return discardSink{}, nil
	}
	f, name, err := x.createTemp()
	if err != nil {
		return nil, fmt.Errorf("fetch component %q: %w", job.name, err)
	}
	x.mu.Lock()
	x.temps[job.desc.Digest] = name
	x.files = append(x.files, f)
	x.mu.Unlock()
	return &fileSink{f: f, sync: x.sync}, nil
}

func (x *extraction) closeFiles() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var errs []error
	for _, f := range x.files {
		errs = append(errs, f.Close())
	}
	x.files = nil
	return errors.Join(errs...)
}

// commit moves every verified temporary file to its name. On failure it
// removes what it created.
func (x *extraction) commit(ctx context.Context, plan []placement, opts Options, overwrite bool) (err error) {
	defer func() {
		if err != nil {
			x.rollback(opts)
		}
	}()
	uses := map[digest.Digest]int{}
	for _, p := range plan {
		uses[p.desc.Digest]++
	}
	buf := make([]byte, copyBufSize)
	for _, p := range plan {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("extract component %q: %w", p.name, err)
		}
		// Check again: the directory may have changed while blobs were fetched.
		existed, err := checkPath(x.root, p.name)
		if err != nil {
			return err
		}
		if existed && !overwrite {
			return fmt.Errorf("extract component %q: %w (pass Overwrite to replace it)", p.name, ErrExists)
		}
		if err := x.makeParents(p.name); err != nil {
			return err
		}
		tmp := x.temps[p.desc.Digest]
		uses[p.desc.Digest]--
		from := tmp
		if uses[p.desc.Digest] > 0 {
			// Another component has the same bytes: give this one a copy
			// of the verified file, never a second fetch.
			if from, err = x.copyTemp(tmp, buf); err != nil {
				return fmt.Errorf("extract component %q: %w", p.name, err)
			}
		}
		if err := x.place(from, p.name, overwrite); err != nil {
			return fmt.Errorf("extract component %q: %w", p.name, err)
		}
		if !existed {
			x.written = append(x.written, p.name)
		}
		opts.Logger.Debug("wrote component", "name", p.name, "digest", p.desc.Digest)
		opts.progress(Event{Kind: EventFileWritten, Name: p.name, Descriptor: p.desc})
	}
	return x.syncDirs(plan)
}

// syncDirs flushes every directory that gained or lost a name: the
// parents of the placed files, the directories commit created and their
// parents, and the top directory, where the temporary files were.
func (x *extraction) syncDirs(plan []placement) error {
	if !x.sync {
		return nil
	}
	dirs := map[string]bool{".": true}
	for _, p := range plan {
		for d := path.Dir(p.name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		if err := x.syncDir(filepath.FromSlash(d)); err != nil {
			return fmt.Errorf("flush directory %q: %w", d, err)
		}
	}
	return nil
}

// syncDir flushes the directory name. Windows cannot flush a directory
// opened as a file, and a file system that cannot flush one says so with
// EINVAL: neither is an error.
func (x *extraction) syncDir(name string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := x.root.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}

// makeParents creates the missing parent directories of name, recording
// each one it creates.
func (x *extraction) makeParents(name string) error {
	segs := strings.Split(name, "/")
	for i := 1; i < len(segs); i++ {
		p := filepath.FromSlash(strings.Join(segs[:i], "/"))
		fi, err := x.root.Lstat(p)
		switch {
		case err == nil && fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("extract component %q: %w: %q is a symbolic link", name, ErrUnsafePath, p)
		case err == nil && !fi.IsDir():
			return fmt.Errorf("extract component %q: %w: %q exists and is not a directory", name, ErrUnsafePath, p)
		case err == nil:
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("extract component %q: %w", name, err)
		}
		if err := x.root.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("extract component %q: create directory: %w", name, err)
		}
		x.dirs = append(x.dirs, p)
	}
	return nil
}

// copyTemp copies a verified temporary file to a new one.
func (x *extraction) copyTemp(from string, buf []byte) (string, error) {
	in, err := x.root.Open(from)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, name, err := x.createTemp()
	if err != nil {
		return "", err
	}
	_, err = io.CopyBuffer(writerOnly{out}, in, buf)
	if err == nil && x.sync {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return name, err
}

// place moves the temporary file tmp to name. Without overwrite it links
// then unlinks, so that a file appearing at name meanwhile is never
// replaced.
func (x *extraction) place(tmp, name string, overwrite bool) error {
	dst := filepath.FromSlash(name)
	if overwrite {
		if err := x.root.Rename(tmp, dst); err != nil {
			return err
		}
	} else if err := x.root.Link(tmp, dst); err == nil {
		if err := x.root.Remove(tmp); err != nil {
			return err
		}
	} else if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w (pass Overwrite to replace it)", ErrExists)
	} else {
		// No hard links on this file system: check, then rename.
		if _, serr := x.root.Lstat(dst); serr == nil {
			return fmt.Errorf("%w (pass Overwrite to replace it)", ErrExists)
		}
		if err := x.root.Rename(tmp, dst); err != nil {
			return err
		}
	}
	x.mu.Lock()
	delete(x.live, tmp)
	x.mu.Unlock()
	return nil
}

// rollback removes the files and directories commit created.
func (x *extraction) rollback(opts Options) {
	for i := len(x.written) - 1; i >= 0; i-- {
		if err := x.root.Remove(filepath.FromSlash(x.written[i])); err != nil {
			opts.Logger.Warn("roll back extraction", "file", x.written[i], "error", err)
		}
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.root.Remove(x.dirs[i]); err != nil {
			opts.Logger.Warn("roll back extraction", "directory", x.dirs[i], "error", err)
		}
	}
	x.written, x.dirs = nil, nil
}

// cleanup removes every temporary file still on disk.
func (x *extraction) cleanup(opts Options) {
	_ = x.closeFiles()
	x.mu.Lock()
	defer x.mu.Unlock()
	for name := range x.live {
		if err := x.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			opts.Logger.Warn("remove temporary file", "file", name, "error", err)
		}
	}
	x.live = map[string]bool{}
}
