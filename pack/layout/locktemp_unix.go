//go:build unix

package layout

import "syscall"

// lockTempFile is lockTemp through the temporary file's own descriptor
// when it has one: no second open of the file by name. The lock goes with
// the descriptor when the file is closed.
func lockTempFile(f tempFile) func() {
	sc, ok := f.(syscall.Conn)
	if !ok {
		return lockTemp(f.Name())
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return lockTemp(f.Name())
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB) }); err != nil || lerr != nil {
		return lockTemp(f.Name())
	}
	return func() {
		// Closed already (the lock went with it) or still open.
		_ = rc.Control(func(fd uintptr) { _ = syscall.Flock(int(fd), syscall.LOCK_UN) })
	}
}
