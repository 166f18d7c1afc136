//go:build !unix

package clitools

import "os/exec"

// ownGroup leaves cmd as it is: process groups are a unix notion.
func ownGroup(*exec.Cmd) {}

// killGroup kills a started cmd.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
