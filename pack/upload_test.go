package pack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/spec"
)

// uploadFixture writes a declaration with one binary file component, waits
// until the file is older than a short racy window, and builds it with
// that window.
func uploadFixture(t *testing.T, window time.Duration) (comp Component, c *Composition, path string, data []byte) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "weights.bin")
	data = bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	decl := []byte(`runid: "1"
roles:
  model: none
  parameters: none
  system-prompt: none
  tools: none
  context:
    - { name: context/weights.bin, file: weights.bin }
  input: none
  config: none
  runtime: none
`)
	if err := os.WriteFile(filepath.Join(dir, "runid.yaml"), decl, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * 10 * time.Millisecond) // older than the window used below
	d, err := spec.ParseDeclaration("runid.yaml", decl)
	if err != nil {
		t.Fatal(err)
	}
	c, err = Build(t.Context(), d, dir, BuildOptions{racyWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	for _, comp := range c.Components {
		if comp.Name == "context/weights.bin" {
			return comp, c, path, data
		}
	}
	t.Fatal("no component context/weights.bin")
	return
}

// TestOpenUpload checks when an upload gets the file itself (stamp
// unchanged) and when it falls back to the checking reader, and that a
// file modified during the upload fails it.
func TestOpenUpload(t *testing.T) {
	if _, ok := stampOf(mustStat(t, os.Args[0])); !ok {
		t.Skipf("no file stamps on %s: uploads always re-hash", runtime.GOOS)
	}
	flip := func(data []byte) []byte { out := bytes.Clone(data); out[len(out)-1] ^= 1; return out }
	tests := []struct {
		name     string
		window   time.Duration
		change   func(t *testing.T, path string, data []byte)
		wantFile bool  // the upload reads the *os.File itself
		wantErr  error // from reading the whole reader
	}{
		{name: "unchanged", window: 10 * time.Millisecond, change: func(*testing.T, string, []byte) {}, wantFile: true},
		{name: "recently modified", window: time.Hour, change: func(*testing.T, string, []byte) {}, wantFile: false},
		{name: "touched", window: 10 * time.Millisecond, change: func(t *testing.T, p string, d []byte) { mustWrite(t, p, d) }},
		{name: "same size", window: 10 * time.Millisecond, change: func(t *testing.T, p string, d []byte) { mustWrite(t, p, flip(d)) }, wantErr: ErrComponentChanged},
		{name: "truncated", window: 10 * time.Millisecond, change: func(t *testing.T, p string, d []byte) { mustWrite(t, p, d[:1]) }, wantErr: ErrComponentChanged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			comp, _, path, data := uploadFixture(t, tc.window)
			if (comp.stamp != nil) != (tc.window < time.Hour) {
				t.Fatalf("stamp = %v with a racy window of %s", comp.stamp, tc.window)
			}
			tc.change(t, path, data)
			rc, after, err := comp.openUpload()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if _, isFile := rc.(*os.File); isFile != tc.wantFile || (after != nil) != tc.wantFile {
				t.Fatalf("reader %T, check %v; want the file itself: %v", rc, after != nil, tc.wantFile)
			}
			got, err := io.ReadAll(rc)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("read error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && !bytes.Equal(got, data) {
				t.Errorf("read %d bytes, want the %d hashed", len(got), len(data))
			}
			if after != nil {
				if err := after(); err != nil {
					t.Errorf("check after an unchanged upload: %v", err)
				}
			}
		})
	}

	t.Run("modified during the upload", func(t *testing.T) {
		comp, _, path, data := uploadFixture(t, 10*time.Millisecond)
		rc, after, err := comp.openUpload()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if after == nil {
			t.Fatal("no check for the file itself")
		}
		time.Sleep(20 * time.Millisecond) // a clock tick, so that the times move
		mustWrite(t, path, flip(data))
		if err := after(); !errors.Is(err, ErrComponentChanged) {
			t.Errorf("check = %v, want %v", err, ErrComponentChanged)
		}
	})
}

// TestPushUploadsFiles pushes a file component through the file-itself path
// to a registry and reads it back verified; a file changed (same size)
// between Build and Push still fails with ErrComponentChanged.
func TestPushUploadsFiles(t *testing.T) {
	if _, ok := stampOf(mustStat(t, os.Args[0])); !ok {
		t.Skipf("no file stamps on %s", runtime.GOOS)
	}
	ctx := context.Background()
	comp, c, path, data := uploadFixture(t, 10*time.Millisecond)
	if comp.stamp == nil {
		t.Fatal("no stamp")
	}
	repo := testregistry.Repository(t, testregistry.StartDistribution(t), "runs/files")
	res, err := Push(ctx, repo, c, PushOptions{Tag: "v1"})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if res.BytesUploaded < int64(len(data)) {
		t.Errorf("uploaded %d bytes, want at least %d", res.BytesUploaded, len(data))
	}
	got, err := content.FetchAll(ctx, repo, comp.Descriptor())
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetch back: %d bytes, %v", len(got), err)
	}

	comp, c, path, data = uploadFixture(t, 10*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	data[0] ^= 1
	mustWrite(t, path, data)
	repo = testregistry.Repository(t, testregistry.StartDistribution(t), "runs/files")
	if _, err := Push(ctx, repo, c, PushOptions{Tag: "v1"}); !errors.Is(err, ErrComponentChanged) {
		t.Fatalf("push of a changed file: %v, want %v", err, ErrComponentChanged)
	}
	if ok, _ := repo.Exists(ctx, comp.Descriptor()); ok {
		t.Error("the changed bytes were stored under the hashed digest")
	}
}

func mustStat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
