package pull_test

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/runid/runid-oci/pull"
)

// TestPullFlushesFiles checks that Pull returns only once the files it
// wrote are on disk, and that NoSync leaves them in the page cache. A
// page the kernel still has to write (dirty, or under write-back) stays
// in memory when the file's cache is dropped (POSIX_FADV_DONTNEED); a
// clean one goes. So after a flushed pull no page of the file stays;
// after a NoSync pull of 35 MiB, some do. Where dropping the cache does
// not drop clean pages either (tmpfs), the test cannot tell and is
// skipped; likewise where even the NoSync pull left nothing to write.
func TestPullFlushesFiles(t *testing.T) {
	// Not a multiple of the write-back chunk: the last bytes are written
	// by the flush alone.
	const size = 35<<20 + 12345
	store, _ := pushBigComponent(t, size, [32]byte{'s', 'y', 'n', 'c'})

	pullOnce := func(opts pull.PullOptions) (left int, file string) {
		out := filepath.Join(t.TempDir(), "out")
		rep, err := pull.Pull(t.Context(), store, tag, out, opts)
		if err != nil || !rep.Verified {
			t.Fatalf("pull (NoSync %v): %v", opts.NoSync, err)
		}
		file = filepath.Join(out, "data", "big.bin")
		return pagesLeftAfterDrop(t, file), file
	}

	left, _ := pullOnce(pull.PullOptions{NoSync: true})
	if left == 0 {
		t.Skip("after a NoSync pull no page was left to write: this file system cannot tell a flushed file from one that is not")
	}
	t.Logf("NoSync: %d of %d pages still to write when Pull returned", left, size/os.Getpagesize())

	left, file := pullOnce(pull.PullOptions{})
	if left == 0 {
		return
	}
	// Pages left: still to write, or a file system that keeps clean pages.
	g, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	err = g.Sync()
	g.Close()
	if err != nil {
		t.Fatal(err)
	}
	if pagesLeftAfterDrop(t, file) > 0 {
		t.Skip("this file system keeps clean pages when the cache is dropped: the test cannot tell")
	}
	t.Errorf("Pull returned with %d pages of %s not yet on disk; want every file flushed", left, file)
}

// pagesLeftAfterDrop asks the kernel to drop file's cached pages and
// counts those that stayed in memory.
func pagesLeftAfterDrop(t *testing.T, file string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal("mincore:", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
