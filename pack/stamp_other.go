//go:build !linux

package pack

import "io/fs"

// stampOf gives no stamp on this platform: uploads always re-hash files
// (see upload.go).
func stampOf(fs.FileInfo) (fileStamp, bool) { return fileStamp{}, false }
