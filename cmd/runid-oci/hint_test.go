package main

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/scan"
)

// TestHint: an error whose remedy is a flag gets a hint naming that flag,
// and only on a command that has it.
func TestHint(t *testing.T) {
	withFlags := func(flags ...string) *cobra.Command {
		c := &cobra.Command{Use: "x"}
		for _, f := range flags {
			c.Flags().Bool(f, false, "")
		}
		return c
	}
	tests := []struct {
		name string
		cmd  *cobra.Command
		err  error
		want string
	}{
		{"withhold secret", withFlags("withhold-secret-file"), fmt.Errorf("build: %w", pack.ErrNoWithholdSecret), "--withhold-secret-file"},
		{"credential", withFlags("allow-secrets"), &scan.SecretsError{}, "--allow-secrets"},
		{"exists", withFlags("force"), fmt.Errorf("write run: x: %w", fs.ErrExist), "--force"},
		{"no such flag", withFlags(), fmt.Errorf("write run: x: %w", fs.ErrExist), ""},
		{"other error", withFlags("force"), fmt.Errorf("network down"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := hint(tc.cmd, tc.err)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("hint = %q, want one naming %q", got, tc.want)
			}
			if strings.Contains(got, "Options") {
				t.Errorf("hint %q names a Go field", got)
			}
		})
	}
}
