package layout

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// tempPattern names the store's temporary files in its tmp directory.
const tempPattern = "tmp-*"

// pullTempPrefix starts the names of the temporary files runid-oci pull
// writes (pull.TempPrefix; pull sits above this package).
const pullTempPrefix = ".runid-tmp-"

// DefaultStaleAge is how long a temporary file that no live writer can be
// shown to hold must go unmodified before a writer removes it.
const DefaultStaleAge = 15 * time.Minute

// tempGrace is the age under which one of the store's temporary files is
// taken to be live even when no lock is held on it.
const tempGrace = 2 * time.Second

// lockTemp holds an advisory lock on a temporary file while it is written
// and renamed, so that a writer cleaning up can tell a file of a live
// writer (locked) from one left by a killed writer (not locked). It
// returns the function releasing the lock.
func lockTemp(path string) func() {
	l := flock.New(path, flock.SetFlag(os.O_RDONLY))
	if ok, err := l.TryLock(); err != nil || !ok {
		return func() {}
	}
	return func() { l.Unlock() }
}

// Leftover is a temporary file that a writer left behind.
type Leftover struct {
	// Path is the file's path.
	Path string
	// Size is its size in bytes.
	Size int64
	// ModTime is when it was last written.
	ModTime time.Time
	// Live is true when a live writer still holds it.
	Live bool
}

// leftovers lists the temporary files in the layout at root: the store's
// own (tmpDir; Live when a writer holds its lock), oras-go's (ingest/)
// and pull's (.runid-tmp-* at the top), which carry no lock and count as
// live until staleAge after their last write.
func leftovers(root, tmpDir string, staleAge time.Duration, now time.Time) []Leftover {
	var out []Leftover
	add := func(path string, own bool) {
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() {
			return
		}
		lo := Leftover{Path: path, Size: fi.Size(), ModTime: fi.ModTime()}
		if own {
			// A writer creates its file, then locks it: a file younger
			// than tempGrace may be in between.
			lo.Live = now.Sub(fi.ModTime()) < tempGrace || heldByWriter(path)
		} else {
			lo.Live = now.Sub(fi.ModTime()) < staleAge
		}
		out = append(out, lo)
	}
	if ents, err := os.ReadDir(tmpDir); err == nil {
		for _, e := range ents {
			add(filepath.Join(tmpDir, e.Name()), true)
		}
	}
	ingest := filepath.Join(root, "ingest")
	if ents, err := os.ReadDir(ingest); err == nil {
		for _, e := range ents {
			add(filepath.Join(ingest, e.Name()), false)
		}
	}
	if ents, err := os.ReadDir(root); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), pullTempPrefix) {
				add(filepath.Join(root, e.Name()), false)
			}
		}
	}
	return out
}

// heldByWriter reports whether a live writer holds the lock of one of the
// store's temporary files.
func heldByWriter(path string) bool {
	l := flock.New(path, flock.SetFlag(os.O_RDONLY))
	ok, err := l.TryLock()
	if err != nil {
		// Gone (renamed into place) or unreadable: not ours to remove.
		return true
	}
	if !ok {
		return true
	}
	l.Unlock()
	return false
}

// cleanLeftovers removes the leftovers no live writer holds and returns
// how many bytes it freed.
func (s *Store) cleanLeftovers() int64 {
	var freed int64
	for _, lo := range leftovers(s.root, s.tmpDir, s.opts.staleAge(), time.Now()) {
		if lo.Live {
			continue
		}
		if err := s.fs.Remove(lo.Path); err == nil {
			freed += lo.Size
		}
	}
	return freed
}
