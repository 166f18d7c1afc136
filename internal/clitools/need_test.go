package clitools

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordTB records what need does with a test instead of doing it.
type recordTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordTB) Helper()                   {}
func (r *recordTB) Skip(args ...any)          { r.skipped = fmt.Sprint(args...) }
func (r *recordTB) Fatalf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...) }

// TestNeedNeverBuilds: a tool missing from the cache skips the test with
// the command that builds it, or fails it under RUNID_REQUIRE_TOOLS=1; a
// cached tool is returned. Nothing is built either way.
func TestNeedNeverBuilds(t *testing.T) {
	for _, tool := range Tools() {
		t.Run(string(tool), func(t *testing.T) {
			cache := t.TempDir()
			t.Setenv(CacheEnv, cache)

			t.Setenv(RequireEnv, "")
			r := &recordTB{TB: t}
			if got := need(r, tool); got != "" || r.failed != "" || !strings.Contains(r.skipped, "go run ./internal/clitools/prebuild") {
				t.Errorf("missing tool: path %q, failed %q, skipped %q; want a skip naming the prebuild command", got, r.failed, r.skipped)
			}

			t.Setenv(RequireEnv, "1")
			r = &recordTB{TB: t}
			if got := need(r, tool); got != "" || r.skipped != "" || !strings.Contains(r.failed, RequireEnv+"=1") {
				t.Errorf("missing tool under %s=1: path %q, skipped %q, failed %q; want a failure", RequireEnv, got, r.skipped, r.failed)
			}
			if entries, _ := os.ReadDir(cache); len(entries) != 0 {
				t.Errorf("need wrote %d entries to the cache; it must never build", len(entries))
			}

			want := filepath.Join(cache, string(tool)+"-"+tool.Version()+"-static", filepath.Base(mustPath(t, tool)))
			if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			r = &recordTB{TB: t}
			if got := need(r, tool); got != want || r.skipped != "" || r.failed != "" {
				t.Errorf("cached tool: path %q (want %q), skipped %q, failed %q", got, want, r.skipped, r.failed)
			}
		})
	}
}
