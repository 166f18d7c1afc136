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
	const interval = 5 * time.Millisecond
	start := time.Now()
	p, err := StartFlushProbe(dir, interval)
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, dir); got != 1 {
		t.Errorf("%d files in dir while probing, want the probe's 1", got)
	}
	// Wait for a few flushes, however slow the disk is today.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(interval) {
		p.mu.Lock()
		n := len(p.times)
		p.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d flushes in a minute at a %s interval, want 3", n, interval)
		}
	}
	times, err := p.Stop()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if most := int(elapsed/interval) + 1; len(times) < 3 || len(times) > most {
		t.Errorf("%d flushes in %s at a %s interval, want 3 to %d", len(times), elapsed, interval, most)
	}
	for i, d := range times {
		if d <= 0 || d > elapsed {
			t.Errorf("flush %d took %s, want a positive duration under %s", i, d, elapsed)
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
