package capture

import (
	"context"
	"fmt"

	"github.com/runid/runid-oci/pack"
)

// DirOptions configure ImportDir. The zero value is valid.
type DirOptions struct {
	// Import configures the import.
	Import Options
	// Overwrite replaces existing files. Default: false, and ImportDir
	// fails with an error wrapping fs.ErrExist, writing nothing, if a file
	// it would write exists.
	Overwrite bool
}

// DirResult reports a request imported into a directory.
type DirResult struct {
	// Format is the request format.
	Format string
	// WriteResult names the declaration and component files written and
	// gives the identity digest.
	pack.WriteResult
	// Warnings are Imported.Warnings.
	Warnings []string
}

// ImportDir imports a request body (see Import) and writes the run into
// dir as a declaration, pack.DeclarationFile, and its component files (see
// pack.Run.WriteDir), then loads the files back to check that they have
// the request's identity digest, which it reports.
func ImportDir(ctx context.Context, format string, body []byte, dir string, opts DirOptions) (DirResult, error) {
	imp, err := Import(ctx, format, body, opts.Import)
	if err != nil {
		return DirResult{}, err
	}
	comment := fmt.Sprintf("Imported by runid-oci from a request body of format %s (mapping %s).\n"+
		"Every field of the request is in one component; see README.md, \"Capturing runs\".", format, MappingVersion)
	res, err := imp.Run.WriteDir(ctx, dir, pack.WriteOptions{Overwrite: opts.Overwrite, Comment: comment, Build: opts.Import.Build})
	if err != nil {
		return DirResult{}, err
	}
	// The files must declare what the request does: load them back.
	written, err := pack.Digest(ctx, res.Declaration, opts.Import.Build)
	if err != nil {
		return DirResult{}, fmt.Errorf("%w: the files written do not load: %w", ErrRoundTrip, err)
	}
	if written != imp.Composition.Digest() {
		return DirResult{}, fmt.Errorf("%w: the files written have identity %s, the request %s", ErrRoundTrip, written, imp.Composition.Digest())
	}
	return DirResult{Format: format, WriteResult: res, Warnings: imp.Warnings}, nil
}
