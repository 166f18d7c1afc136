//go:build unix

package main

import "syscall"

// flushDisk writes every dirty page of the machine to disk and waits for
// it (sync(2)), so that the next timed run starts with nothing left to
// write back.
func flushDisk() { syscall.Sync() }
