package pack

import (
	"context"
	"io"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
)

// Scan looks for credentials in every disclosed text, yaml and json
// component of c (package pack/scan says what is scanned) and returns the
// findings in component order; none means none was found. A file that
// Build scanned as it hashed it (BuildOptions.ScanCredentials) is not read
// again: its findings are those of the bytes hashed. Withheld
// components are not scanned: nothing of them is pushed. The error is not
// nil only when a component could not be read (for example
// ErrComponentChanged) or ctx ended.
func Scan(ctx context.Context, c *Composition, opts scan.Options) ([]scan.Finding, error) {
	items := make([]scan.Item, 0, len(c.Components))
	for i := range c.Components {
		comp := &c.Components[i]
		if comp.Withheld() {
			continue
		}
		_, format, ok := mediatype.ParseComponent(comp.MediaType)
		if !ok {
			format = mediatype.FormatBinary
		}
		it := scan.Item{Name: comp.Name, Format: format}
		switch {
		case comp.scanned: // while it was hashed (BuildOptions.ScanCredentials)
			it.Scanned, it.Findings = true, comp.findings
		case comp.path == "":
			it.Data = comp.data
			if it.Data == nil {
				it.Data = []byte{}
			}
		default:
			it.Open = func() (io.ReadCloser, error) {
				// A file that still has the stamp it had when it was hashed
				// is read as it is, not hashed again (upload.go says why
				// that is safe); the stamp is checked again at the end.
				rc, check, err := comp.openUpload()
				if err != nil || check == nil {
					return rc, err
				}
				return &checkedAtEOF{rc: rc, check: check}, nil
			}
		}
		items = append(items, it)
	}
	return scan.Items(ctx, items, opts)
}

// checkedAtEOF reads rc and, at its end, runs check: its error, if any,
// replaces io.EOF, so that a reader that stops at the end sees it.
type checkedAtEOF struct {
	rc    io.ReadCloser
	check func() error
}

func (r *checkedAtEOF) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err == io.EOF && r.check != nil {
		if cerr := r.check(); cerr != nil {
			return n, cerr
		}
		r.check = nil
	}
	return n, err
}

func (r *checkedAtEOF) Close() error { return r.rc.Close() }
