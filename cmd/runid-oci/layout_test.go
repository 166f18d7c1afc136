package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLayoutCheckRepair(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	mustRun(t, 0, "push", "--oci-layout", dir+":v1", exampleDecl("minimal"))
	r := mustRun(t, 0, "layout", "check", dir)
	if !strings.Contains(r.stdout, "healthy") {
		t.Errorf("check of a fresh layout:\n%s", r.stdout)
	}

	// index.json cut short, as a full disk left it with an in-place writer.
	ip := filepath.Join(dir, "index.json")
	b, err := os.ReadFile(ip)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ip, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, 3, "layout", "check", dir)
	if !strings.Contains(r.stdout, "damaged") || !strings.Contains(r.stdout, "index: ") {
		t.Errorf("check of a cut index.json:\n%s", r.stdout)
	}
	if r := runCLI(t, "verify", "--oci-layout", dir+":v1"); r.code != 1 || !strings.Contains(r.stderr, "layout repair") {
		t.Errorf("verify on a cut index.json: exit %d\n%s", r.code, r.stderr)
	}
	r = mustRun(t, 0, "-o", "json", "layout", "repair", dir)
	if !strings.Contains(r.stdout, `"tags": 1`) {
		t.Errorf("repair:\n%s", r.stdout)
	}
	mustRun(t, 0, "layout", "check", dir)
	mustRun(t, 0, "verify", "--oci-layout", dir+":v1")

	r = runCLI(t, "layout", "check", filepath.Join(t.TempDir(), "none"))
	if r.code != 1 {
		t.Errorf("check of a missing directory: exit %d, want 1", r.code)
	}
	if r := runCLI(t, "layout", "check"); r.code != 2 {
		t.Errorf("check without DIR: exit %d, want 2", r.code)
	}
}
