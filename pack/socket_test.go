package pack_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/pack"
)

// TestLoadRejectsSocket checks that a Unix socket given as a component
// file, which cannot be opened at all, is refused as what it is, not as a
// file that cannot be opened.
func TestLoadRejectsSocket(t *testing.T) {
	// A short directory: a socket's path is limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l, err := net.Listen("unix", filepath.Join(dir, "doc.md"))
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	defer l.Close()
	declPath := declIn(t, dir, declWith(contextFile("doc.md"), ""))
	_, err = pack.Load(t.Context(), declPath, pack.BuildOptions{})
	checkBad(t, err, declPath, badCase{want: pack.ErrComponentFile, field: "roles.context[0].file", file: "doc.md"})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("error %v, want one saying it is not a regular file", err)
	}
}
