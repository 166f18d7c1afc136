package fsprobe

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

func TestCreateCost(t *testing.T) {
	dir := t.TempDir()
	d, err := CreateCost(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 {
		t.Errorf("CreateCost = %s, want a positive duration", d)
	}
	probes, err := filepath.Glob(filepath.Join(dir, "create-cost-*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(probes) != Files {
		t.Errorf("left %d files, want the %d it created", len(probes), Files)
	}
}

func TestCreateCostMissingDir(t *testing.T) {
	_, err := CreateCost(filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("CreateCost in a missing directory: %v, want fs.ErrNotExist", err)
	}
}
