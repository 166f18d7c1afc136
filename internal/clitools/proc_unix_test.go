//go:build unix

package clitools

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// alive reports whether pid is a live process (neither gone nor a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestCommandKillsGroup: a grandchild started by a command made with
// Command dies when the test is cleaned up, although its parent did not
// wait for it.
func TestCommandKillsGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc to observe processes")
	}
	var child int
	t.Run("start", func(t *testing.T) {
		cmd := Command(t, "/bin/sh", "-c", "sleep 300 & echo $!")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if child, err = strconv.Atoi(strings.TrimSpace(line)); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait() // the shell exits; its sleep goes on
		if !alive(child) {
			t.Fatalf("the background child %d is already gone", child)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d outlived the test that started it", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
