package layout

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
)

// faultFS fails its failAt-th write operation (counting from 1) with EIO,
// and every one after it, as a dying disk does.
type faultFS struct {
	osFS
	failAt int64
	n      atomic.Int64
}

func (f *faultFS) fail(op, name string) error {
	if f.n.Add(1) >= f.failAt {
		return &fs.PathError{Op: op, Path: name, Err: syscall.EIO}
	}
	return nil
}

func (f *faultFS) CreateTemp(dir, pattern string) (tempFile, error) {
	if err := f.fail("create", dir); err != nil {
		return nil, err
	}
	t, err := f.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &faultFile{tempFile: t, fs: f}, nil
}

func (f *faultFS) Rename(a, b string) error {
	if err := f.fail("rename", b); err != nil {
		return err
	}
	return f.osFS.Rename(a, b)
}

func (f *faultFS) SyncDir(p string) error {
	if err := f.fail("fsync", p); err != nil {
		return err
	}
	return f.osFS.SyncDir(p)
}

func (f *faultFS) SyncFile(p string) error {
	if err := f.fail("fsync", p); err != nil {
		return err
	}
	return f.osFS.SyncFile(p)
}

func (f *faultFS) MkdirAll(p string, perm fs.FileMode) error {
	if err := f.fail("mkdir", p); err != nil {
		return err
	}
	return f.osFS.MkdirAll(p, perm)
}

type faultFile struct {
	tempFile
	fs *faultFS
}

func (f *faultFile) Write(b []byte) (int, error) {
	if err := f.fs.fail("write", f.Name()); err != nil {
		// Half the bytes reach the file, as a short write would.
		n, _ := f.tempFile.Write(b[:len(b)/2])
		return n, err
	}
	return f.tempFile.Write(b)
}

func (f *faultFile) Sync() error {
	if err := f.fs.fail("fsync", f.Name()); err != nil {
		return err
	}
	return f.tempFile.Sync()
}

// copyDir copies the layout at src to dst.
func copyDir(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		t := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(t, 0o777)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(t)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		fi, _ := d.Info()
		os.Chtimes(t, fi.ModTime(), fi.ModTime())
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// writeEach does a push, an attach and a sign into s, stopping at the
// first failure, and returns the reports of those that succeeded.
func writeEach(tb testing.TB, s *Store, n int) ([]report, error) {
	var out []report
	for _, kind := range []string{"push", "attach", "sign", "record"} {
		i := n
		if kind == "sign" {
			i = 0 // seeded as sig-0
		}
		line, err := write(tb.Context(), s, kind, i)
		if err != nil {
			return out, err
		}
		out = append(out, parseReports(line)...)
	}
	return out, nil
}

// TestWriteFailsWithEIO fails every write operation in turn with EIO:
// the failed write reports an error, everything reported before still
// verifies, and the next writer succeeds.
func TestWriteFailsWithEIO(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base")
	seed(t, base, 1)
	s0, err := Open(t.Context(), base, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before, err := writeEach(t, s0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// No background commit changes the layout while it is copied.
	if err := s0.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	failures := 0
	for failAt := int64(1); ; failAt++ {
		dir := filepath.Join(t.TempDir(), "l"+strconv.FormatInt(failAt, 10))
		copyDir(t, base, dir)
		ffs := &faultFS{failAt: failAt}
		s, err := Open(t.Context(), dir, Options{fs: ffs})
		if err != nil {
			t.Fatal(err)
		}
		got, err := writeEach(t, s, 1)
		if err == nil {
			if failures == 0 {
				t.Fatal("no write operation failed")
			}
			t.Logf("failed each of %d write operations in turn", failures)
			checkReports(t, dir, append(before, got...))
			return
		}
		failures++
		if !errors.Is(err, syscall.EIO) {
			t.Errorf("fail at %d: error does not wrap EIO: %v", failAt, err)
		}
		checkReports(t, dir, append(before, got...))
		// The layout takes the next write.
		s2, err := Open(t.Context(), dir, Options{})
		if err != nil {
			t.Fatalf("fail at %d: open after: %v", failAt, err)
		}
		after, err := writeEach(t, s2, 1)
		if err != nil {
			t.Fatalf("fail at %d: write after: %v", failAt, err)
		}
		checkReports(t, dir, after)
		if t.Failed() {
			t.Fatalf("fail at %d", failAt)
		}
	}
}

// TestFullDisk fills a small tmpfs so that a push, an attach and a sign
// run out of space at every step in turn: what was reported before
// verifies, the layout opens, and after space is freed the next write
// succeeds.
func TestFullDisk(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	dir := filepath.Join(mnt, "layout")
	seed(t, dir, 1)
	s0, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before, err := writeEach(t, s0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// No background commit changes the layout while it is copied.
	if err := s0.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(mnt, "filler")
	var st syscall.Statfs_t
	failures := 0
	for free := int64(0); free < 2<<20; free += 4096 {
		// Fill the disk, then free `free` bytes of it.
		os.Remove(filler)
		if err := syscall.Statfs(mnt, &st); err != nil {
			t.Fatal(err)
		}
		avail := int64(st.Bavail) * st.Bsize
		if avail-free <= 0 {
			break
		}
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(make([]byte, avail-free)); err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Fatal(err)
		}
		f.Close()
		s, err := Open(t.Context(), dir, Options{})
		if err != nil {
			t.Fatalf("%d bytes free: open: %v", free, err)
		}
		got, err := writeEach(t, s, 100+int(free/4096))
		if err == nil {
			t.Logf("writes failed with %d to %d bytes free (%d attempts), then succeeded", 0, free-4096, failures)
			os.Remove(filler)
			checkReports(t, dir, append(before, got...))
			if failures == 0 {
				t.Error("no write ran out of space")
			}
			return
		}
		failures++
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("%d bytes free: error does not wrap ENOSPC: %v", free, err)
		}
		before = append(before, got...)
		os.Remove(filler)
		checkReports(t, dir, before)
		if t.Failed() {
			t.Fatalf("%d bytes free", free)
		}
	}
	t.Fatal("the writes never succeeded")
}
