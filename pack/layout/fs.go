package layout

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// fileSystem is every file-system operation through which the store
// changes the layout. Reads go to the os package directly. Tests replace
// it to make a chosen write fail (EIO) and check that nothing stored
// before is damaged.
type fileSystem interface {
	// CreateTemp creates a new file in dir, as os.CreateTemp.
	CreateTemp(dir, pattern string) (tempFile, error)
	// Rename renames oldpath to newpath, replacing newpath.
	Rename(oldpath, newpath string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(path string, perm fs.FileMode) error
	// SyncDir flushes a directory, so that the names renamed into it
	// survive a crash of the machine.
	SyncDir(path string) error
	// SyncFile flushes a file's content, given by its name.
	SyncFile(path string) error
}

// tempFile is a file being written before it is renamed into place.
type tempFile interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

// osFS is the real file system.
type osFS struct{}

func (osFS) CreateTemp(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }
func (osFS) Rename(oldpath, newpath string) error             { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error                         { return os.Remove(name) }
func (osFS) MkdirAll(path string, perm fs.FileMode) error     { return os.MkdirAll(path, perm) }

func (osFS) SyncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot sync a directory; their renames are as
	// durable as they get.
	if errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}

func (osFS) SyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeAtomic writes data to path through a temporary file in tmpDir:
// write, fsync, rename, fsync of path's directory. On any failure path
// is unchanged and the temporary file is removed.
func writeAtomic(fsys fileSystem, tmpDir, path string, data []byte) error {
	return writeAtomicFrom(fsys, tmpDir, path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, fsys.SyncDir)
}

// writeAtomicFrom is writeAtomic with the content written by fill and the
// directory flushed by syncDir (which may defer it).
func writeAtomicFrom(fsys fileSystem, tmpDir, path string, fill func(io.Writer) error, syncDir func(string) error) (err error) {
	return writeAtomicAlongside(fsys, tmpDir, path, fill, syncDir, nil)
}

// writeAtomicAlongside is writeAtomicFrom that also runs alongside, if
// set, while the temporary file is flushed, and renames it into place only
// when both succeeded: what alongside flushes is durable before path
// changes.
func writeAtomicAlongside(fsys fileSystem, tmpDir, path string, fill func(io.Writer) error, syncDir func(string) error, alongside func() error) (err error) {
	f, err := fsys.CreateTemp(tmpDir, tempPattern)
	if err != nil {
		return err
	}
	unlock := lockTempFile(f)
	defer unlock()
	done := false
	defer func() {
		if !done {
			f.Close()
			fsys.Remove(f.Name())
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	errc := make(chan error, 1)
	if alongside != nil {
		go func() { errc <- alongside() }()
	} else {
		errc <- nil
	}
	serr := f.Sync()
	if aerr := <-errc; aerr != nil {
		return aerr
	}
	if serr != nil {
		return serr
	}
	if err := f.Close(); err != nil {
		fsys.Remove(f.Name())
		done = true
		return err
	}
	if err := fsys.Rename(f.Name(), path); err != nil {
		fsys.Remove(f.Name())
		done = true
		return err
	}
	done = true
	return syncDir(filepath.Dir(path))
}

// writeUnflushed writes path through a temporary file renamed into place,
// without flushing either: for files whose loss costs only time.
func writeUnflushed(fsys fileSystem, tmpDir, path string, data []byte) error {
	return writeRenamedUnflushed(fsys, tmpDir, path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, func(string) {})
}

// writeRenamedUnflushed writes path through a temporary file renamed into
// place, and hands path to after, which must see that the file's content
// and its name are flushed before anything that names it is (the next
// commit does). On any failure path is unchanged and the temporary file
// is removed.
func writeRenamedUnflushed(fsys fileSystem, tmpDir, path string, fill func(io.Writer) error, after func(string)) error {
	f, err := fsys.CreateTemp(tmpDir, tempPattern)
	if err != nil {
		return err
	}
	unlock := lockTempFile(f)
	defer unlock()
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(f.Name(), path)
	}
	if err != nil {
		fsys.Remove(f.Name())
		return err
	}
	after(path)
	return nil
}
