package pack

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Uploading a file-backed component without reading it twice.
//
// Build hashes every file. Component.Open reads a file again through a
// reader that hashes it once more, so that a file changed since it was
// hashed fails with ErrComponentChanged. For an upload that second hash is
// redundant whenever the file provably did not change: every store Push
// writes to (a registry, an OCI layout, oras-go's memory store) verifies
// the digest of what it receives. So Push hands the store the *os.File
// itself, not hashed again (which also lets net/http send it with
// sendfile(2) to a registry over plain HTTP), when the file still has the
// stamp it had while it was hashed: same device, inode, size,
// modification time and status-change time (which no program can set
// back). A file whose stamp differs is read through Open's checking
// reader, which tells a change (ErrComponentChanged) from a mere touch;
// the stamp is checked again once the upload is over, and a difference
// then fails the upload with ErrComponentChanged.
//
// Timestamps advance in clock ticks, so a file modified shortly before it
// was hashed could be modified again without its times changing. Such a
// file gets no stamp and is always re-hashed, as git re-reads "racily
// clean" files. Platforms without status-change times give no stamps.

// defaultRacyWindow is how long before hashing a file must have been last
// modified (and its status changed) for its stamp to be trusted.
const defaultRacyWindow = 2 * time.Second

// fileStamp identifies one version of a file without reading it.
type fileStamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

// stableStamp returns the stamp of a file hashed between the stats before
// and after (n bytes, starting at start), or nil when it cannot be trusted:
// the platform has none, the file changed while it was hashed, or it was
// modified within racyWindow of being hashed.
func stableStamp(before, after fs.FileInfo, n int64, start time.Time, racyWindow time.Duration) *fileStamp {
	b, ok := stampOf(before)
	if !ok {
		return nil
	}
	a, ok := stampOf(after)
	if !ok || a != b || a.size != n {
		return nil
	}
	latest := time.Unix(0, max(a.mtime, a.ctime))
	if start.Sub(latest) < racyWindow {
		return nil
	}
	return &a
}

// openUpload opens the component's bytes for a store that verifies what it
// receives. It returns the open file itself when the file still has the
// stamp it had when it was hashed, with a check to run once the upload is
// over; otherwise it returns Open's checking reader and no check.
func (c Component) openUpload() (io.ReadCloser, func() error, error) {
	if c.path == "" || c.stamp == nil {
		rc, err := c.Open()
		return rc, nil, err
	}
	f, st, err := openRegularStat(c.path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w %q: %v", ErrComponentFile, c.Source, err)
	}
	if !c.unchanged(st, nil) {
		f.Close()
		rc, err := c.Open()
		return rc, nil, err
	}
	return f, func() error {
		if !c.unchanged(os.Stat(c.path)) {
			return fmt.Errorf("component %q: %w: the file was modified while it was uploaded", c.Name, ErrComponentChanged)
		}
		return nil
	}, nil
}

// unchanged reports whether fi has the component's stamp.
func (c Component) unchanged(fi fs.FileInfo, err error) bool {
	if err != nil {
		return false
	}
	s, ok := stampOf(fi)
	return ok && s == *c.stamp
}
