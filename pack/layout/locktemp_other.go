//go:build !unix

package layout

// lockTempFile is lockTemp.
func lockTempFile(f tempFile) func() { return lockTemp(f.Name()) }
