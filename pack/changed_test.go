package pack_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
)

// TestPushComponentChanged changes a component file between Load and Push:
// the push must fail with ErrComponentChanged (or ErrComponentFile when the
// file is gone) and the identity must not become visible.
func TestPushComponentChanged(t *testing.T) {
	const name = "context/02-shipping-times.md"
	changes := []struct {
		name   string
		change func(t *testing.T, path string)
		want   error
	}{
		{"same size", func(t *testing.T, p string) { writeFile(t, p, toggleLastLetter(t, testutil.ReadFile(t, p))) }, pack.ErrComponentChanged},
		{"appended", func(t *testing.T, p string) { writeFile(t, p, append(testutil.ReadFile(t, p), "\nP.S."...)) }, pack.ErrComponentChanged},
		{"truncated", func(t *testing.T, p string) { data := testutil.ReadFile(t, p); writeFile(t, p, data[:len(data)/2]) }, pack.ErrComponentChanged},
		{"emptied", func(t *testing.T, p string) { writeFile(t, p, nil) }, pack.ErrComponentChanged},
		{"removed", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, pack.ErrComponentFile},
	}
	for _, tg := range targets {
		for _, ch := range changes {
			t.Run(tg.name+"/"+ch.name, func(t *testing.T) {
				ctx := t.Context()
				dir := t.TempDir()
				copyTree(t, filepath.Join(examplesDir, "rag-agent"), dir)
				comp := load(t, filepath.Join(dir, "runid.yaml"))
				_, item := componentItem(t, readDecl(t, filepath.Join(dir, "runid.yaml")), name)
				f, _ := mapGet(item, "file")
				ch.change(t, filepath.Join(dir, f.(string)))

				target := tg.open(t)
				_, err := pack.Push(ctx, target, comp, pack.PushOptions{Tag: "v1"})
				if !errors.Is(err, ch.want) {
					t.Fatalf("push error = %v, want %v", err, ch.want)
				}
				exists, err := target.Exists(ctx, comp.Identity.Descriptor())
				if err != nil {
					t.Fatal(err)
				}
				if exists {
					t.Error("the identity manifest is in the target")
				}
				if _, err := target.Resolve(ctx, "v1"); !errors.Is(err, errdef.ErrNotFound) {
					t.Errorf("resolve tag v1: error %v, want %v", err, errdef.ErrNotFound)
				}
				// A blob that made it before the failure must be the
				// content that was hashed: FetchAll verifies the digest.
				for _, c := range comp.Components {
					ok, err := target.Exists(ctx, c.Descriptor())
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						if _, err := content.FetchAll(ctx, target, c.Descriptor()); err != nil {
							t.Errorf("component %q in the target: %v", c.Name, err)
						}
					}
				}
			})
		}
	}
}

// TestComponentOpen reads a file-backed component back the ways consumers
// do (all at once, one byte at a time, and exactly its size then one more
// byte, as a verifying reader does): unchanged, it reads back its bytes and
// ends with io.EOF; changed, the read that completes it fails with
// ErrComponentChanged.
func TestComponentOpen(t *testing.T) {
	readers := []struct {
		name string
		read func(r io.Reader, size int64) ([]byte, error)
	}{
		{"ReadAll", func(r io.Reader, _ int64) ([]byte, error) { return io.ReadAll(r) }},
		{"one byte at a time", func(r io.Reader, _ int64) ([]byte, error) { return io.ReadAll(iotest.OneByteReader(r)) }},
		{"size then peek", func(r io.Reader, size int64) ([]byte, error) {
			data, err := io.ReadAll(io.LimitReader(r, size))
			if err != nil {
				return data, err
			}
			// Like oras-go's verifying reader: more data is an error of
			// its own, whatever the reader says with it.
			var one [1]byte
			k, err := io.ReadFull(r, one[:])
			switch {
			case k > 0:
				return data, errors.New("trailing data")
			case err != io.EOF:
				return data, fmt.Errorf("read failed: %w", err)
			}
			return data, nil
		}},
	}
	changes := []struct {
		name   string
		change func(t *testing.T, path string)
		want   error // nil: unchanged
	}{
		{"unchanged", func(t *testing.T, p string) {}, nil},
		{"touched", func(t *testing.T, p string) { writeFile(t, p, testutil.ReadFile(t, p)) }, nil},
		{"same size", func(t *testing.T, p string) { writeFile(t, p, toggleLastLetter(t, testutil.ReadFile(t, p))) }, pack.ErrComponentChanged},
		{"appended", func(t *testing.T, p string) { writeFile(t, p, append(testutil.ReadFile(t, p), '!')) }, pack.ErrComponentChanged},
		{"truncated", func(t *testing.T, p string) { data := testutil.ReadFile(t, p); writeFile(t, p, data[:len(data)-1]) }, pack.ErrComponentChanged},
	}
	for _, rd := range readers {
		for _, ch := range changes {
			t.Run(rd.name+"/"+ch.name, func(t *testing.T) {
				dir := t.TempDir()
				copyTree(t, filepath.Join(examplesDir, "rag-agent"), dir)
				comp := load(t, filepath.Join(dir, "runid.yaml"))
				c := componentNamed(t, comp, "context/03-warranty.md")
				want := testutil.ReadFile(t, filepath.Join(dir, "context", "03-warranty.md"))
				ch.change(t, filepath.Join(dir, "context", "03-warranty.md"))

				rc, err := c.Open()
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				got, err := rd.read(rc, c.Size)
				if !errors.Is(err, ch.want) || (ch.want == nil && err != nil) {
					t.Fatalf("read error = %v, want %v", err, ch.want)
				}
				if ch.want == nil && !bytes.Equal(got, want) {
					t.Errorf("read %d bytes, want the %d hashed", len(got), len(want))
				}
			})
		}
	}
}

// componentNamed returns the component of c named name.
func componentNamed(t testing.TB, c *pack.Composition, name string) pack.Component {
	t.Helper()
	for _, comp := range c.Components {
		if comp.Name == name {
			return comp
		}
	}
	t.Fatalf("no component %q", name)
	return pack.Component{}
}
