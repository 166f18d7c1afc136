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
	"regexp"
	"slices"
	"strings"
	"sync"

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
// so a run that Compose rejects writes nothing, nor does one whose
// declaration would be over spec.MaxDeclarationSize (an error wrapping
// spec.ErrDeclarationTooLarge), which Load would refuse; files are written
// before the declaration, which is written last.
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
	decl.Write(d.yaml())
	if decl.Len() > spec.MaxDeclarationSize {
		// Load would refuse the file; a Run has no such limit.
		return WriteResult{}, &spec.FieldError{File: DeclarationFile, Err: spec.ErrDeclarationTooLarge,
			Msg: fmt.Sprintf("the run written as a declaration takes %d bytes, over the limit of %d bytes for a declaration file", decl.Len(), spec.MaxDeclarationSize)}
	}
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

// yaml renders the declaration as the text of DeclarationFile: every
// component a file, with its name, path and format.
func (d *runDecl) yaml() []byte {
	var b bytes.Buffer
	b.WriteString("runid: \"1\"\nroles:\n")
	for _, rd := range d.decl.Roles {
		fmt.Fprintf(&b, "  %s:", quote(rd.Role))
		if rd.None {
			b.WriteString(" none\n")
			continue
		}
		b.WriteString("\n")
		for _, c := range rd.Components {
			fmt.Fprintf(&b, "    - name: %s\n      file: %s\n      format: %s\n", quote(c.Name), quote(c.File), c.Format)
			if c.Withheld {
				b.WriteString("      withheld: true\n")
			}
		}
	}
	return b.Bytes()
}

// plainScalar matches strings that YAML reads as the same string when
// written plain, apart from the keywords in yamlKeywords.
var plainScalar = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9._/-]*$`) })

// yamlKeywords are plain scalars that YAML 1.2 or 1.1 reads as booleans or
// null, compared in lower case.
var yamlKeywords = []string{"true", "false", "null", "yes", "no", "on", "off", "y", "n"}

// quote writes s as a YAML scalar: plain when that reads back as s, else
// double-quoted (JSON string escapes are a subset of YAML's).
func quote(s string) string {
	if plainScalar().MatchString(s) && !slices.Contains(yamlKeywords, strings.ToLower(s)) {
		return s
	}
	b, _ := json.Marshal(s)
	// YAML does not allow U+FFFE and U+FFFF written as they are, and JSON
	// leaves them so; a valid name may hold them.
	return strings.NewReplacer("\uFFFE", `\uFFFE`, "\uFFFF", `\uFFFF`).Replace(string(b))
}
