package layout

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"

	"github.com/runid/runid-oci/pack"
)

var _ registry.ReferencePusher = (*Store)(nil)

// indexRenameCounter counts the renames onto index.json.
type indexRenameCounter struct {
	osFS
	indexWrites atomic.Int64
}

func (c *indexRenameCounter) Rename(a, b string) error {
	if filepath.Base(b) == indexFile {
		c.indexWrites.Add(1)
	}
	return c.osFS.Rename(a, b)
}

// TestTaggedPushIsOneCommit pushes a tagged identity through pack.Push,
// which takes the store's PushReference: index.json is replaced once, the
// tag resolves here and in oras-go's store, and pushing the same identity
// under a second tag only tags it.
func TestTaggedPushIsOneCommit(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "layout")
	cfs := &indexRenameCounter{}
	s, err := Open(ctx, dir, Options{Create: true, fs: cfs})
	if err != nil {
		t.Fatal(err)
	}
	before := cfs.indexWrites.Load()
	c := composeRun(t, 1)
	res, err := pack.Push(ctx, s, c, pack.PushOptions{Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if n := cfs.indexWrites.Load() - before; n != 1 {
		t.Errorf("a tagged push replaced index.json %d times, want 1", n)
	}
	if _, err := pack.Push(ctx, s, c, pack.PushOptions{Tag: "v2"}); err != nil {
		t.Fatalf("push of a stored identity under a new tag: %v", err)
	}
	for _, tag := range []string{"v1", "v2"} {
		d, err := s.Resolve(ctx, tag)
		if err != nil || d.Digest != res.Descriptor.Digest {
			t.Errorf("resolve %s: %v, %v; want %s", tag, d.Digest, err, res.Descriptor.Digest)
		}
	}
	o, err := oci.NewWithContext(ctx, dir)
	if err != nil {
		t.Fatalf("oras-go opens the layout: %v", err)
	}
	for _, tag := range []string{"v1", "v2"} {
		if d, err := o.Resolve(ctx, tag); err != nil || d.Digest != res.Descriptor.Digest {
			t.Errorf("oras-go resolves %s: %v, %v", tag, d.Digest, err)
		}
	}
	// A digest reference must be the manifest's own.
	err = s.PushReference(ctx, res.Descriptor, nil, "sha256:0000000000000000000000000000000000000000000000000000000000000000")
	if !errors.Is(err, errdef.ErrInvalidReference) {
		t.Errorf("PushReference with another digest: %v, want ErrInvalidReference", err)
	}
	if err := s.PushReference(ctx, res.Descriptor, nil, "bad tag"); !errors.Is(err, errdef.ErrInvalidReference) {
		t.Errorf("PushReference with an invalid tag: %v, want ErrInvalidReference", err)
	}
	if _, err := os.Stat(filepath.Join(dir, sidecarDir, "tags", "v1")); err != nil {
		t.Errorf("sidecar tag file: %v", err)
	}
}
