package pack

import (
	"context"
	"io"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
)

// Scan looks for credentials in every disclosed text, yaml and json
// component of c (package pack/scan says what is scanned) and returns the
// findings in component order; none means none was found. Withheld
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
		if comp.path == "" {
			it.Data = comp.data
			if it.Data == nil {
				it.Data = []byte{}
			}
		} else {
			it.Open = func() (io.ReadCloser, error) { return comp.Open() }
		}
		items = append(items, it)
	}
	return scan.Items(ctx, items, opts)
}
