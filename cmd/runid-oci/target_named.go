package main

import (
	"context"

	"github.com/runid/runid-oci/pack/target"
)

// openNamed opens ref as open does and refuses, as a usage error, a
// reference that names no tag or digest (a bare repository or layout
// directory): the commands that read or write one manifest need one. what
// is how the command line names ref (TARGET, ARTIFACT, --identity, ...).
func (t *targetFlags) openNamed(ctx context.Context, what, ref string, readOnly bool) (*target.Target, error) {
	tg, err := t.open(ctx, ref, readOnly)
	if err != nil {
		return nil, err
	}
	if tg.Reference == "" {
		return nil, usageErrorf("%s %s names no tag or digest", what, ref)
	}
	return tg, nil
}
