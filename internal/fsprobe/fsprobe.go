// Package fsprobe measures what a file system charges for a new file, so
// that benchmarks which create files can say in which state they ran.
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
	"strconv"
	"time"
)

// Files is how many files CreateCost creates.
const Files = 64

// CreateCost returns the mean wall time of creating an empty file, over
// Files files created one after another in a new directory of dir. The
// files and their directory are left in place (deleting them would free
// inodes, which is what makes creation slow): remove dir when done.
func CreateCost(dir string) (time.Duration, error) {
	probe, err := os.MkdirTemp(dir, "create-cost-")
	if err != nil {
		return 0, fmt.Errorf("file creation probe: %w", err)
	}
	start := time.Now()
	for i := range Files {
		f, err := os.OpenFile(filepath.Join(probe, strconv.Itoa(i)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return 0, fmt.Errorf("file creation probe: %w", err)
		}
		if err := f.Close(); err != nil {
			return 0, fmt.Errorf("file creation probe: %w", err)
		}
	}
	return time.Since(start) / Files, nil
}
