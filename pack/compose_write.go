package pack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// WriteOptions configure Run.WriteDir. The zero value is valid.
type WriteOptions struct {
	// Overwrite replaces existing files. Default: false, and WriteDir
	// fails with an error wrapping fs.ErrExist before writing anything if
	// the declaration or a component file already exists.
	Overwrite bool
	// Comment, if set, is written at the top of the declaration as YAML
	// comment lines. It does not change the identity.
	Comment string
	// Build configures the build that checks the run before it is
	// written.
	Build BuildOptions
}

// WriteResult reports a run written by Run.WriteDir.
type WriteResult struct {
	// Declaration is the path of the declaration file written.
	Declaration string
	// Files are the component files written, relative to the directory
	// and using "/", in identity order.
	Files []string
	// Digest is the identity digest, the same for the run and for the
	// files written.
	Digest digest.Digest
}

// WriteDir writes the run as a declaration file, DeclarationFile, and one
// file per part below dir (created if missing), so that Load or
// `runid-oci digest` on the declaration gives the run's identity digest.
// Each part is written at its logical name (below "components/" if a name
// would clash with the declaration file); json parts are indented for
// reading, which does not change them as JSON. The run is composed first,
// so a run that Compose rejects writes nothing; files are written before
// the declaration, which is written last.
func (r *Run) WriteDir(ctx context.Context, dir string, opts WriteOptions) (WriteResult, error) {
	comp, err := r.Compose(ctx, opts.Build)
	if err != nil {
		return WriteResult{}, err
	}
	d, err := r.declaration()
	if err != nil {
		return WriteResult{}, err
	}
	res := WriteResult{Declaration: filepath.Join(dir, DeclarationFile), Digest: comp.Digest(), Files: d.paths}

	type file struct {
		path string
		data []byte
	}
	files := make([]file, 0, len(d.paths)+1)
	for i, p := range d.paths {
		data := d.parts[i].Data
		if d.parts[i].Format == mediatype.FormatJSON {
			// The canonical form, indented: Compose accepted it, so it
			// canonicalizes; the component of a withheld part holds its
			// commitment, not its content.
			canon, err := spec.Canonicalize(data)
			if err != nil {
				return WriteResult{}, fmt.Errorf("component %q: %w", d.parts[i].Name, err)
			}
			var b bytes.Buffer
			if err := json.Indent(&b, canon, "", "  "); err != nil {
				return WriteResult{}, fmt.Errorf("component %q: %w", d.parts[i].Name, err)
			}
			b.WriteByte('\n')
			data = b.Bytes()
		}
		files = append(files, file{p, data})
	}
	var decl bytes.Buffer
	if opts.Comment != "" {
		for line := range strings.SplitSeq(strings.TrimRight(opts.Comment, "\n"), "\n") {
			decl.WriteString(strings.TrimRight("# "+line, " ") + "\n")
		}
	}
	decl.Write(d.yaml)
	files = append(files, file{DeclarationFile, decl.Bytes()})

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return WriteResult{}, fmt.Errorf("write run: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return WriteResult{}, fmt.Errorf("write run: %w", err)
	}
	defer root.Close()
	if !opts.Overwrite {
		for _, f := range files {
			if _, err := root.Lstat(filepath.FromSlash(f.path)); err == nil {
				return WriteResult{}, fmt.Errorf("write run: %s: %w",
					filepath.Join(dir, filepath.FromSlash(f.path)), fs.ErrExist)
			}
		}
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return WriteResult{}, err
		}
		if parent := path.Dir(f.path); parent != "." {
			if err := root.MkdirAll(filepath.FromSlash(parent), 0o755); err != nil {
				return WriteResult{}, fmt.Errorf("write run: %w", err)
			}
		}
		if err := root.WriteFile(filepath.FromSlash(f.path), f.data, 0o644); err != nil {
			return WriteResult{}, fmt.Errorf("write run: %w", err)
		}
	}
	return res, nil
}
