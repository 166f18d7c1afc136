package main

import (
	"strings"
	"testing"
)

// failCase is a command line that must fail: its exit code and a string
// its stderr must hold.
type failCase struct {
	name     string
	args     []string
	code     int
	inStderr string
}

// runFailures runs each case and checks its exit code, that stderr holds
// inStderr, and that nothing was written to stdout.
func runFailures(t *testing.T, cases []failCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, tt.code, tt.args...)
			if !strings.Contains(r.stderr, tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty on failure: %q", r.stdout)
			}
		})
	}
}
