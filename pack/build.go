// Package pack is the write side of runid-oci: it turns a declaration (a
// runid.yaml, or a Run assembled in memory) into the deterministic OCI
// graph of a run identity (spec/SPEC.md §4–§5), with the commitments and
// reveals of withheld components, and pushes or copies it to any
// oras.Target, such as an OCI image layout directory or a remote
// repository. Referrers, signing, credential scanning and request capture
// are its subpackages.
//
// The identity digest depends only on the composition: roles, logical
// names, media types and bytes. Files are hashed as streams, so a component
// of any size is never held in memory; structured JSON components are
// canonicalized with RFC 8785 first and are therefore bounded by
// BuildOptions.MaxStructuredSize.
package pack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/errs"
	"github.com/runid/runid-oci/pack/scan"
	"github.com/runid/runid-oci/spec"
)

// DefaultMaxStructuredSize is the default cap on a json or yaml component,
// which is parsed in memory: 64 MiB.
const DefaultMaxStructuredSize = 64 << 20

// BuildOptions configure Build and Load. The zero value is valid.
type BuildOptions struct {
	// Concurrency is how many component files are hashed at once.
	// Default: runtime.NumCPU().
	Concurrency int
	// MaxStructuredSize caps json and yaml components, which are parsed in
	// memory. Default: DefaultMaxStructuredSize.
	MaxStructuredSize int64
	// WithholdSecret is the owner's secret from which the salts of
	// withheld components are derived (spec/SPEC.md §7.2); it must be at
	// least spec.MinWithholdSecretSize bytes. It is needed only when the
	// declaration withholds a component, and then the same secret always
	// gives the same identity. Default: none, and a declaration with a
	// withheld component fails with ErrNoWithholdSecret. See
	// ReadWithholdSecret.
	WithholdSecret []byte
	// Progress, if set, receives EventFileHashing events as component
	// files are hashed; it may be called from several goroutines at once.
	Progress func(Event)
	// ScanCredentials makes Build scan each disclosed text file for
	// credentials while it hashes it: the scanner gets the bytes of the
	// same reads and runs on another goroutine, so a file is read once and
	// the scan costs about no wall time beside hashing. Push and Scan then
	// use those findings instead of reading the file again; they are the
	// findings of exactly the bytes hashed. Default: false (digest and
	// verify do not scan; Push scans what Build did not).
	ScanCredentials bool
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger

	// racyWindow is how long before hashing a file must have been last
	// modified for its stamp to be trusted (see upload.go). Default:
	// defaultRacyWindow; tests shorten it.
	racyWindow time.Duration
}

func (o BuildOptions) withDefaults() BuildOptions {
	if o.racyWindow <= 0 {
		o.racyWindow = defaultRacyWindow
	}
	if o.Concurrency <= 0 {
		o.Concurrency = runtime.NumCPU()
	}
	if o.MaxStructuredSize <= 0 {
		o.MaxStructuredSize = DefaultMaxStructuredSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Composition is a built identity that has not necessarily been pushed: the
// identity manifest and document, and every component with a way to read
// its bytes again.
type Composition struct {
	// Identity holds the manifest and identity document, with their bytes.
	Identity *spec.Identity
	// Components are in identity (layer) order.
	Components []Component
	// Reveals holds one reveal per withheld component, in identity order
	// (spec/SPEC.md §7.3). They are never pushed; see WriteReveals.
	Reveals []spec.Reveal
}

// Digest is the identity digest: the digest of the manifest bytes.
func (c *Composition) Digest() digest.Digest { return c.Identity.Digest() }

// Component is one packed component.
type Component struct {
	spec.ComponentEntry
	// Source names where the bytes come from: the file path as declared, or
	// "inline".
	Source string

	path string // absolute path of a file-backed component
	data []byte // bytes of an in-memory component (inline, text, json), or the commitment document of a withheld one

	reveal *spec.Reveal // set for a withheld component

	stamp *fileStamp // the file as hashed, when it can be recognised again without reading it (upload.go)

	scanned  bool           // the file was scanned for credentials as it was hashed
	findings []scan.Finding // what that scan found
}

// Open returns the component's bytes. A file-backed component is read from
// its file again; the reader fails with ErrComponentChanged at the end if
// the bytes no longer match the digest. For a withheld component Open
// returns the commitment document, which is what the layer holds; the
// content is never read again.
func (c Component) Open() (io.ReadCloser, error) {
	if c.path == "" {
		return io.NopCloser(bytes.NewReader(c.data)), nil
	}
	f, err := OpenRegular(c.path)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrComponentFile, c.Source, err)
	}
	return &checkingReader{f: f, h: sha256.New(), want: c.Digest, size: c.Size, name: c.Name}, nil
}

// Load reads the declaration file at path and builds its composition.
// Component files are resolved relative to the declaration's directory and
// may not lie outside it.
func Load(ctx context.Context, path string, opts BuildOptions) (*Composition, error) {
	data, err := readCapped(path, spec.MaxDeclarationSize)
	if err != nil {
		return nil, err
	}
	decl, err := spec.ParseDeclaration(path, data)
	if err != nil {
		return nil, err
	}
	c, err := Build(ctx, decl, filepath.Dir(path), opts)
	if err != nil {
		// Name the declaration, as the parser's errors do.
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Digest loads the declaration at path and returns its identity digest.
// It needs no network and no store.
func Digest(ctx context.Context, path string, opts BuildOptions) (digest.Digest, error) {
	c, err := Load(ctx, path, opts)
	if err != nil {
		return "", err
	}
	return c.Digest(), nil
}

// readSized reads r, at most limit+1 bytes, into one buffer of the size
// the file reports (plus one byte, to see growth) instead of growing a
// buffer by doubling as io.ReadAll does: for a 50 MB component that is 50 MB
// allocated instead of about 150 MB of successive copies.
func readSized(r io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		size = limit
	}
	buf := make([]byte, 0, size+1)
	for int64(len(buf)) <= limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // the file grew: let append grow it
		}
		n, err := r.Read(buf[len(buf):min(int64(cap(buf)), limit+1)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func readCapped(path string, limit int64) ([]byte, error) {
	data, err := ReadRegular(path, limit)
	switch {
	case errors.Is(err, errs.ErrTooLarge):
		return nil, &spec.FieldError{File: path, Err: spec.ErrDeclarationTooLarge,
			Msg: fmt.Sprintf("over the limit of %d bytes", limit)}
	case err != nil:
		return nil, fmt.Errorf("read declaration: %w", err)
	}
	return data, nil
}

// Build hashes every component of a parsed declaration and builds the
// identity. dir is the directory that file components are relative to;
// files outside it (through "..", absolute paths or symbolic links) are
// rejected. Files are hashed concurrently as streams.
func Build(ctx context.Context, decl *spec.Declaration, dir string, opts BuildOptions) (*Composition, error) {
	return build(ctx, decl, dir, nil, opts)
}

// build is Build with mem: the bytes of yaml and binary components that
// Run.Compose holds in memory, by declared file path.
func build(ctx context.Context, decl *spec.Declaration, dir string, mem map[string][]byte, opts BuildOptions) (*Composition, error) {
	opts = opts.withDefaults()
	decls := decl.Components()
	if err := checkWithholdSecret(decls, opts.WithholdSecret); err != nil {
		return nil, err
	}
	var root *os.Root
	var absDir string // dir made absolute once, not per file (it may ask the working directory)
	if dir != "" {
		r, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fmt.Errorf("%w: open declaration directory: %v", ErrComponentFile, err)
		}
		defer r.Close()
		root = r
		if absDir, err = filepath.Abs(dir); err != nil {
			return nil, fmt.Errorf("%w: declaration directory: %v", ErrComponentFile, err)
		}
	}
	comps := make([]Component, len(decls))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i, d := range decls {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			c, err := buildComponent(root, absDir, mem, d, opts)
			if err == nil && d.Withheld {
				c, err = withhold(c, opts.WithholdSecret)
			}
			if err != nil {
				return err
			}
			comps[i] = c
			opts.Logger.Debug("hashed component", "role", c.Role, "name", c.Name, "digest", c.Digest, "size", c.Size)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	c, err := assemble(decl, comps)
	if err != nil {
		return nil, err
	}
	c.Reveals = reveals(comps)
	return c, nil
}

func assemble(decl *spec.Declaration, comps []Component) (*Composition, error) {
	roles := make([]string, len(decl.Roles))
	for i, r := range decl.Roles {
		roles[i] = r.Role
	}
	entries := make([]spec.ComponentEntry, len(comps))
	for i, c := range comps {
		entries[i] = c.ComponentEntry
	}
	id, err := spec.BuildIdentity(roles, entries)
	if err != nil {
		return nil, err
	}
	return &Composition{Identity: id, Components: comps}, nil
}

func buildComponent(root *os.Root, absDir string, mem map[string][]byte, d spec.ComponentDeclaration, opts BuildOptions) (Component, error) {
	c := Component{Source: d.Source()}
	c.Role, c.Name = d.Role, d.Name
	c.MediaType = mediatype.Component(d.Role, d.Format)
	fail := func(err error, format string, a ...any) (Component, error) {
		where := d.Field
		if d.File != "" {
			where = fmt.Sprintf("%s.file (%q)", d.Field, d.File)
		}
		return Component{}, fmt.Errorf("component %q at %s: %w: %s", d.Name, where, err, fmt.Sprintf(format, a...))
	}
	data, inMemory := mem[d.File]
	switch {
	case d.Inline != nil:
		c.data = d.Inline
	case d.Text != nil:
		c.data = []byte(*d.Text)
		if !utf8.Valid(c.data) {
			return fail(spec.ErrInvalidFormat, "text is not valid UTF-8")
		}
	case inMemory: // a yaml or binary part of a Run
		if d.Format == mediatype.FormatYAML {
			if int64(len(data)) > opts.MaxStructuredSize {
				return fail(ErrComponentTooLarge, "over %d bytes; declare it as text or binary, or raise the limit", opts.MaxStructuredSize)
			}
			if err := checkYAML(data); err != nil {
				return fail(spec.ErrInvalidFormat, "%s", err)
			}
		}
		c.data = data
	default:
		if root == nil {
			return fail(ErrComponentFile, "no directory to resolve files against")
		}
		// Opened non-blocking, as OpenRegular does: opening a named pipe
		// returns at once instead of waiting for a writer, and the file is
		// checked with fstat below before any read. One open, not a stat and
		// an open, each of which walks the path below root.
		f, err := root.OpenFile(filepath.FromSlash(d.File), os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			// Some files that are not regular cannot be opened at all (a
			// socket): say what they are.
			if st, serr := root.Stat(filepath.FromSlash(d.File)); serr == nil && !st.Mode().IsRegular() {
				return fail(ErrComponentFile, "not a regular file (mode %s)", st.Mode().Type())
			}
			var pe *fs.PathError
			msg := err.Error()
			if errors.As(err, &pe) {
				msg = pe.Err.Error()
			}
			return fail(ErrComponentFile, "cannot open (files must exist inside the declaration's directory): %s", msg)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return fail(ErrComponentFile, "%v", err)
		}
		if !st.Mode().IsRegular() {
			return fail(ErrComponentFile, "not a regular file (mode %s)", st.Mode().Type())
		}
		switch d.Format {
		case mediatype.FormatJSON, mediatype.FormatYAML:
			data, err := readSized(f, st.Size(), opts.MaxStructuredSize)
			if err != nil {
				return fail(ErrComponentFile, "%v", err)
			}
			if int64(len(data)) > opts.MaxStructuredSize {
				return fail(ErrComponentTooLarge, "over %d bytes; declare it as text or binary, or raise the limit", opts.MaxStructuredSize)
			}
			if d.Format == mediatype.FormatJSON {
				canon, err := spec.Canonicalize(data)
				if err != nil {
					return fail(spec.ErrInvalidJSON, "%s", strings.TrimPrefix(err.Error(), spec.ErrInvalidJSON.Error()+": "))
				}
				c.data = canon
			} else {
				if err := checkYAML(data); err != nil {
					return fail(spec.ErrInvalidFormat, "%s", err)
				}
				c.data = data
			}
		default:
			start := time.Now()
			var r io.Reader = f
			if opts.Progress != nil {
				desc := ocispec.Descriptor{Size: st.Size()}
				r = &countingReader{r: f, report: func(n int64) {
					opts.Progress(Event{Kind: EventFileHashing, Name: d.Name, Descriptor: desc, Bytes: n})
				}}
			}
			var sc *hashScan
			if opts.ScanCredentials && d.Format == mediatype.FormatText && !d.Withheld {
				sc = startHashScan(d.Name)
			}
			sum, n, err := hashStream(r, d.Format == mediatype.FormatText, st.Size(), sc)
			if sc != nil {
				c.findings, c.scanned = sc.finish(err)
			}
			if err != nil {
				return Component{}, fmt.Errorf("component %q at %s.file (%q): %w", d.Name, d.Field, d.File, err)
			}
			c.Digest, c.Size = sum, n
			if after, err := f.Stat(); err == nil {
				c.stamp = stableStamp(st, after, n, start, opts.racyWindow)
			}
			c.path = filepath.Join(absDir, filepath.FromSlash(d.File))
			return c, nil
		}
	}
	c.Digest, c.Size = digest.FromBytes(c.data), int64(len(c.data))
	return c, nil
}

func firstLine(s string) string {
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// hashBufSize is the read size when hashing files.
const hashBufSize = 1 << 20

// hashBufs recycles hashStream's buffers. Build hashes every file of a
// composition; allocating (and zeroing) a fresh buffer for each file cost
// far more than hashing the file itself when there are thousands of small
// ones.
var hashBufs = sync.Pool{New: func() any {
	b := make([]byte, hashBufSize+utf8.UTFMax)
	return &b
}}

// smallHashBufSize is the read size for files that Build found to be at
// most that long: hashing thousands of small files at once then holds a
// few small buffers, not a megabyte each.
const smallHashBufSize = 64 << 10

var smallHashBufs = sync.Pool{New: func() any {
	b := make([]byte, smallHashBufSize+utf8.UTFMax)
	return &b
}}

// hashStream hashes r with SHA-256; if text, it also checks that the bytes
// are valid UTF-8, carrying at most one incomplete rune between reads.
// sizeHint is the size the file had when it was opened (or -1): it only
// chooses the read size. If sc is not nil, each block read is handed to
// it, once hashed, for its scanner.
func hashStream(r io.Reader, text bool, sizeHint int64, sc *hashScan) (digest.Digest, int64, error) {
	h := sha256.New()
	pool, chunk := &hashBufs, hashBufSize
	if sizeHint >= 0 && sizeHint < smallHashBufSize {
		pool, chunk = &smallHashBufs, smallHashBufSize
	}
	bp := pool.Get().(*[]byte)
	defer func() { // the buffer held at the end
		if bp != nil {
			pool.Put(bp)
		}
	}()
	buf := *bp
	carry := 0 // bytes of an incomplete rune kept at the front of buf
	var n int64
	for {
		k, err := r.Read(buf[carry : carry+chunk])
		if k > 0 {
			block := buf[carry : carry+k]
			h.Write(block)
			n += int64(k)
			data := buf[:carry+k]
			cut := len(data)
			if text {
				cut = incompleteTail(data)
				if !utf8.Valid(data[:cut]) {
					return "", 0, fmt.Errorf("%w: text is not valid UTF-8 (within the %d bytes before byte %d)",
						spec.ErrInvalidFormat, chunk, n)
				}
			}
			if sc != nil {
				next, serr := sc.swap(bp, block, pool)
				if serr != nil {
					bp = nil // it may be the scanner's now
					return "", 0, serr
				}
				bp, buf = next, *next
			}
			carry = copy(buf, data[cut:])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, fmt.Errorf("%w: read: %v", ErrComponentFile, err)
		}
	}
	if carry > 0 {
		return "", 0, fmt.Errorf("%w: text is not valid UTF-8 at its end", spec.ErrInvalidFormat)
	}
	return digest.NewDigest(digest.SHA256, h), n, nil
}

// incompleteTail returns the index where a trailing incomplete rune starts,
// or len(b) when b ends on a rune boundary.
func incompleteTail(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}

// checkingReader re-hashes a file as it is read. It never reads past the
// size hashed at build time (except one byte, to see whether the file grew)
// and checks the digest as soon as that size is reached, so the read that
// completes the content already fails with ErrComponentChanged if the file
// changed: consumers that stop at the expected size (an HTTP body, an OCI
// layout's verifying reader) see the error and not a generic mismatch.
type checkingReader struct {
	f    *os.File
	h    hashWriter
	want digest.Digest
	size int64
	n    int64
	name string
	err  error // sticky: io.EOF once verified, or the failure
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func (r *checkingReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if rest := r.size - r.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	var k int
	var err error
	if len(p) > 0 {
		k, err = r.f.Read(p)
		r.h.Write(p[:k])
		r.n += int64(k)
	}
	switch {
	case r.n == r.size:
		if r.err = r.verify(); r.err != io.EOF || k == 0 {
			return k, r.err
		}
		return k, nil
	case err == io.EOF:
		r.err = fmt.Errorf("component %q: %w: now %d bytes, was %d", r.name, ErrComponentChanged, r.n, r.size)
		return k, r.err
	case err != nil:
		r.err = fmt.Errorf("component %q: %w: read: %v", r.name, ErrComponentFile, err)
		return k, r.err
	}
	return k, nil
}

// verify is called once size bytes were read: it returns io.EOF if the file
// ends there and they have the digest hashed at build time.
func (r *checkingReader) verify() error {
	var one [1]byte
	if k, _ := io.ReadFull(r.f, one[:]); k > 0 {
		return fmt.Errorf("component %q: %w: now longer than %d bytes", r.name, ErrComponentChanged, r.size)
	}
	if got := digest.NewDigestFromBytes(digest.SHA256, r.h.Sum(nil)); got != r.want {
		return fmt.Errorf("component %q: %w: digest is now %s, was %s", r.name, ErrComponentChanged, got, r.want)
	}
	return io.EOF
}

func (r *checkingReader) Close() error { return r.f.Close() }

// checkYAML checks the bytes of a yaml component (spec/SPEC.md §4.3):
// valid UTF-8, whose first invalid byte is reported by line and column,
// and well-formed YAML.
func checkYAML(data []byte) error {
	if line, col, bad := spec.InvalidUTF8(data); bad {
		return fmt.Errorf("line %d, column %d: not valid UTF-8; a yaml component is UTF-8 text", line, col)
	}
	if err := spec.CheckYAMLTabs(data); err != nil {
		return err
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("not valid YAML: %s", firstLine(err.Error()))
	}
	return nil
}
