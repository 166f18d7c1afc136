// Package fsprobe measures what a file system charges for a new file and
// for a flush, so that benchmarks which create and flush files can say in
// which state they ran (CreateCost, FlushProbe).
//
// Creating a file usually costs tens of microseconds. On ext4 mounted
// without a journal, the kernel avoids reusing an inode freed in the last
// minute (five, while its inode table block is dirty): each new inode is
// searched for past every such inode of the block group (ialloc.c,
// find_inode_bit and recently_deleted). Minutes after thousands of files
// were deleted near a directory (a test suite's temporary files, a
// previous benchmark's clean-up), a new file there costs up to a
// millisecond of kernel time, and a benchmark that creates files then
// measures the kernel's search, not the code.
package fsprobe

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Files is how many files CreateCost creates.
const Files = 64

// Slow is a cost of creating a file above which a file system is taken to
// be in the state this package is about: 10-20 µs is usual on ext4 and
// tmpfs, up to 100 µs on a busy machine; skipping recently freed inodes
// costs 0.1-1 ms.
const Slow = 100 * time.Microsecond

// CreateCost returns the mean wall time of creating an empty file in dir,
// over Files files created one after another. Then, if keep is not empty,
// it moves them into the directory keep (a rename frees no inode), so that
// dir can be a directory another program will create files in, such as
// the ingest directory of an OCI layout. The files are left in place:
// deleting them would free inodes, which is what makes creation slow;
// remove them when done.
func CreateCost(dir, keep string) (time.Duration, error) {
	names := make([]string, Files)
	for i := range names {
		names[i] = fmt.Sprintf("create-cost-%d-%d", os.Getpid(), i)
	}
	start := time.Now()
	for _, name := range names {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return 0, fmt.Errorf("file creation probe: %w", err)
		}
		if err := f.Close(); err != nil {
			return 0, fmt.Errorf("file creation probe: %w", err)
		}
	}
	cost := time.Since(start) / Files
	if keep != "" {
		for _, name := range names {
			if err := os.Rename(filepath.Join(dir, name), filepath.Join(keep, name)); err != nil {
				return 0, fmt.Errorf("file creation probe: %w", err)
			}
		}
	}
	return cost, nil
}
