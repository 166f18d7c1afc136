package pack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/runid/runid-oci/pack/errs"
)

// ErrNotRegular: a path that must name a regular file names something else
// (a named pipe, a device, a socket, a directory). Such a file is refused
// before it is read: opening a named pipe for reading blocks until a
// writer comes, and a device may never end.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens path for reading if it is a regular file, and refuses
// anything else with an error wrapping ErrNotRegular without blocking: the
// file is opened non-blocking (which returns at once for a named pipe with
// no writer) and checked with fstat before any read, so that nothing can
// be swapped in between the check and the open. Symbolic links are
// followed; callers that must not follow them check with os.Lstat first.
func OpenRegular(path string) (*os.File, error) {
	f, _, err := openRegularStat(path)
	return f, err
}

// openRegularStat is OpenRegular, also returning the file's status as the
// fstat that checked it found it.
func openRegularStat(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (mode %s)", ErrNotRegular, st.Mode().Type())}
	}
	return f, st, nil
}

// ReadRegular reads the regular file at path (anything else is refused as
// OpenRegular refuses it) if it holds at most limit bytes; a larger file
// fails with an error wrapping errs.ErrTooLarge, after reading at most
// limit+1 bytes of it.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes)", path, errs.ErrTooLarge, limit)
	}
	return data, nil
}
