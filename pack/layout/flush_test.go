package layout

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// countingFS counts the files flushed by name.
type countingFS struct {
	osFS
	mu    sync.Mutex
	files []string
}

func (c *countingFS) SyncFile(p string) error {
	c.mu.Lock()
	c.files = append(c.files, p)
	c.mu.Unlock()
	return c.osFS.SyncFile(p)
}

// TestSmallBlobFlushedByCommit: a small blob is renamed into place before
// it is flushed, and the commit of the manifest that follows flushes it
// (and the manifest) by name.
func TestSmallBlobFlushedByCommit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	cfs := &countingFS{}
	s, err := Open(t.Context(), dir, Options{Create: true, fs: cfs})
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("a component")
	bd := content.NewDescriptorFromBytes("text/plain", blob)
	if err := s.Push(t.Context(), bd, bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	if len(cfs.files) != 0 {
		t.Fatalf("flushed %v before any commit", cfs.files)
	}
	m := []byte(`{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageManifest + `","config":` + descJSON(bd) + `,"layers":[]}`)
	md := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, m)
	if err := s.Push(t.Context(), md, bytes.NewReader(m)); err != nil {
		t.Fatal(err)
	}
	bp, _ := s.blobPath(bd.Digest)
	mp, _ := s.blobPath(md.Digest)
	flushed := map[string]bool{}
	for _, f := range cfs.files {
		flushed[f] = true
	}
	if !flushed[bp] || !flushed[mp] {
		t.Errorf("the commit flushed %v, want the blob %s and the manifest %s", cfs.files, bp, mp)
	}
}

// TestExistsRefusesDamagedSmallBlob: a small blob whose file does not hold
// its digest's bytes (what a crash between its rename and the commit that
// flushes it can leave) is not reported stored, and pushing it again
// replaces it; another store on the same layout (another process) checks
// the bytes of a blob it did not write.
func TestExistsRefusesDamagedSmallBlob(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	s, err := Open(t.Context(), dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("the bytes of a component")
	bd := content.NewDescriptorFromBytes("text/plain", blob)
	if err := s.Push(t.Context(), bd, bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	if err := s.Push(t.Context(), bd, bytes.NewReader(blob)); !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Fatalf("second push: %v, want ErrAlreadyExists", err)
	}
	p, _ := s.blobPath(bd.Digest)
	// Same length, other bytes: zeros, as an unflushed file can read
	// after a crash.
	if err := os.WriteFile(p, make([]byte, len(blob)), 0o644); err != nil {
		t.Fatal(err)
	}
	other, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := other.Exists(t.Context(), bd); err != nil || ok {
		t.Fatalf("Exists of a damaged blob = %v, %v; want false", ok, err)
	}
	if err := other.Push(t.Context(), bd, bytes.NewReader(blob)); err != nil {
		t.Fatalf("push over a damaged blob: %v", err)
	}
	got, err := content.FetchAll(t.Context(), other, bd)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("fetch after the push: %q, %v", got, err)
	}
	third, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := third.Exists(t.Context(), bd); err != nil || !ok {
		t.Fatalf("Exists of the repaired blob in another store = %v, %v; want true", ok, err)
	}
	// A truncated file is not the blob either.
	if err := os.WriteFile(p, blob[:3], 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, _ := (&Store{root: dir, fs: osFS{}}).Exists(t.Context(), bd); ok {
		t.Fatal("Exists of a truncated blob = true")
	}
}

func descJSON(d ocispec.Descriptor) string {
	return `{"mediaType":"` + d.MediaType + `","digest":"` + d.Digest.String() + `","size":` + strconv.FormatInt(d.Size, 10) + `}`
}
