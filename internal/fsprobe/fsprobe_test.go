package fsprobe

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCreateCost(t *testing.T) {
	tests := []struct {
		name     string
		keep     bool
		wantDir  int
		wantKeep int
	}{
		{name: "left in dir", wantDir: Files},
		{name: "moved to keep", keep: true, wantKeep: Files},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, keep := t.TempDir(), ""
			if tc.keep {
				keep = t.TempDir()
			}
			d, err := CreateCost(dir, keep)
			if err != nil {
				t.Fatal(err)
			}
			if d <= 0 {
				t.Errorf("CreateCost = %s, want a positive duration", d)
			}
			if got := count(t, dir); got != tc.wantDir {
				t.Errorf("%d files left in dir, want %d", got, tc.wantDir)
			}
			if keep != "" {
				if got := count(t, keep); got != tc.wantKeep {
					t.Errorf("%d files in keep, want %d", got, tc.wantKeep)
				}
			}
		})
	}
}

func count(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestCreateCostErrors(t *testing.T) {
	absent := filepath.Join(t.TempDir(), "absent")
	if _, err := CreateCost(absent, ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CreateCost in a missing directory: %v, want fs.ErrNotExist", err)
	}
	if _, err := CreateCost(t.TempDir(), absent); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CreateCost into a missing keep directory: %v, want fs.ErrNotExist", err)
	}
}

func TestFlushProbe(t *testing.T) {
	dir := t.TempDir()
	p, err := StartFlushProbe(dir, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, dir); got != 1 {
		t.Errorf("%d files in dir while probing, want the probe's 1", got)
	}
	time.Sleep(150 * time.Millisecond)
	times, err := p.Stop()
	if err != nil {
		t.Fatal(err)
	}
	// About 30 ticks; a slow machine makes fewer, never none.
	if len(times) < 3 || len(times) > 31 {
		t.Errorf("%d flushes in 150 ms at a 5 ms interval, want 3 to 31", len(times))
	}
	for i, d := range times {
		if d <= 0 {
			t.Errorf("flush %d took %s, want a positive duration", i, d)
		}
	}
	if got := count(t, dir); got != 0 {
		t.Errorf("%d files left in dir after Stop, want 0", got)
	}
}

func TestFlushProbeErrors(t *testing.T) {
	if _, err := StartFlushProbe(filepath.Join(t.TempDir(), "absent"), time.Millisecond); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("StartFlushProbe in a missing directory: %v, want fs.ErrNotExist", err)
	}
}
