package scan

import "syscall"

// threadCPU returns the CPU time the calling thread has used, in
// nanoseconds (user and system), and whether it could be read.
func threadCPU() (int64, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
