package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/runid/runid-oci/pack/target"
	"github.com/runid/runid-oci/pull"
)

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"no command prints help", nil, exitOK, "Exit codes:", ""},
		{"help lists exit codes", []string{"--help"}, exitOK, "3  does not verify", ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"unknown global flag", []string{"--frob", "version"}, exitUsage, "", "--frob"},
		{"bad output", []string{"-o", "xml", "version"}, exitUsage, "", "want text or json"},
		{"digest without argument", []string{"digest"}, exitUsage, "", "DECLARATION"},
		{"digest with two arguments", []string{"digest", "a", "b"}, exitUsage, "", "DECLARATION"},
		{"digest of a missing file", []string{"digest", "does-not-exist.yaml"}, exitError, "", "does-not-exist.yaml"},
		{"version with an argument", []string{"version", "x"}, exitUsage, "", "0 argument"},
		{"digest rejects target flags", []string{"digest", "--oci-layout", "x"}, exitUsage, "", "--oci-layout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, tt.code, tt.args...)
			if !strings.Contains(r.stdout, tt.inStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.inStdout, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, r.stderr)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"plain error", errors.New("boom"), exitError},
		{"usage", usageErrorf("bad"), exitUsage},
		{"wrapped usage", fmt.Errorf("x: %w", usageErrorf("bad")), exitUsage},
		{"invalid reference", fmt.Errorf("%w: x", target.ErrInvalidReference), exitUsage},
		{"does not verify", &pull.VerificationError{Reference: "x"}, exitNotVerify},
		{"wrapped, does not verify", fmt.Errorf("pull: %w", &pull.VerificationError{Reference: "x"}), exitNotVerify},
		{"bare sentinel", fmt.Errorf("x: %w", pull.ErrVerification), exitNotVerify},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
