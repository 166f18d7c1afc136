package pack_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/errs"
)

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := pack.ReadRegular(p, 5); err != nil || string(b) != "12345" {
		t.Errorf("ReadRegular at the limit = %q, %v; want the file", b, err)
	}
	_, err := pack.ReadRegular(p, 4)
	if !errors.Is(err, errs.ErrTooLarge) || !strings.Contains(err.Error(), p) {
		t.Errorf("ReadRegular over the limit: %v; want ErrTooLarge naming the file", err)
	}
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// Opening a named pipe with no writer for reading would block; the
	// test ends only if ReadRegular refuses it first.
	if _, err := pack.ReadRegular(fifo, 5); !errors.Is(err, pack.ErrNotRegular) {
		t.Errorf("ReadRegular of a named pipe: %v; want ErrNotRegular", err)
	}
	if _, err := pack.ReadRegular(dir, 5); !errors.Is(err, pack.ErrNotRegular) {
		t.Errorf("ReadRegular of a directory: %v; want ErrNotRegular", err)
	}
}
