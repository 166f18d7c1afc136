package pull

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// TestCheckPath exercises Pull's own path check, independent of the
// structural checks that reject the same names earlier.
func TestCheckPath(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	mustMkdir(t, filepath.Join(dir, "real"))
	mustWrite(t, filepath.Join(dir, "real", "file.txt"), "x")
	mustWrite(t, filepath.Join(dir, "plain.txt"), "x")
	mustSymlink(t, outside, filepath.Join(dir, "link"))
	mustSymlink(t, "real", filepath.Join(dir, "inner-link"))
	mustSymlink(t, filepath.Join(outside, "target.txt"), filepath.Join(dir, "file-link.txt"))
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	for _, tc := range []struct {
		name       string
		wantErr    error
		wantExists bool
	}{
		{name: "../x", wantErr: ErrUnsafePath},
		{name: "/etc/x", wantErr: ErrUnsafePath},
		{name: "a/../../b", wantErr: ErrUnsafePath},
		{name: `C:\x`, wantErr: ErrUnsafePath},
		{name: "C:x", wantErr: ErrUnsafePath},
		{name: "", wantErr: ErrUnsafePath},
		{name: "a\x00b", wantErr: ErrUnsafePath},
		{name: "a\nb", wantErr: ErrUnsafePath},
		{name: "./a", wantErr: ErrUnsafePath},
		{name: "a//b", wantErr: ErrUnsafePath},
		{name: tempPrefix + "0123", wantErr: ErrUnsafePath},
		{name: "link/x", wantErr: ErrUnsafePath},
		{name: "link", wantErr: ErrUnsafePath},
		{name: "inner-link/x", wantErr: ErrUnsafePath},
		{name: "file-link.txt", wantErr: ErrUnsafePath},
		{name: "plain.txt/x", wantErr: ErrUnsafePath},
		{name: "real", wantErr: ErrExists},
		{name: "real/file.txt", wantExists: true},
		{name: "plain.txt", wantExists: true},
		{name: "real/new.txt"},
		{name: "new/deeper/file.txt"},
	} {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			exists, err := checkPath(root, tc.name)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("checkPath(%q) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if exists != tc.wantExists {
				t.Errorf("checkPath(%q) exists = %v, want %v", tc.name, exists, tc.wantExists)
			}
		})
	}
	if entries, err := os.ReadDir(outside); err != nil || len(entries) != 0 {
		t.Errorf("outside directory holds %v, %v", entries, err)
	}
}

// TestPlanExtraction checks the checks across names: a name that differs
// from another only in case, and a name that is the directory of another.
func TestPlanExtraction(t *testing.T) {
	comp := func(name string) spec.ComponentEntry {
		return spec.ComponentEntry{Role: mediatype.RoleContext, Name: name, MediaType: mediatype.Component(mediatype.RoleContext, mediatype.FormatText),
			Digest: digest.FromString(name), Size: int64(len(name))}
	}
	for _, tc := range []struct {
		name    string
		names   []string
		wantErr error
	}{
		{name: "distinct", names: []string{"a.txt", "b/c.txt"}},
		{name: "case", names: []string{"a.txt", "A.TXT"}, wantErr: ErrUnsafePath},
		{name: "unicode normalization", names: []string{"caf\u00e9.txt", "cafe\u0301.txt"}, wantErr: ErrUnsafePath},
		{name: "normalization and case", names: []string{"docs/\u00c9t\u00e9.md", "DOCS/e\u0301te\u0301.md"}, wantErr: ErrUnsafePath},
		{name: "directory under another normalization", names: []string{"caf\u00e9", "cafe\u0301/menu.txt"}, wantErr: ErrUnsafePath},
		{name: "file and directory", names: []string{"a", "a/b.txt"}, wantErr: ErrUnsafePath},
		{name: "directory and file", names: []string{"x/y/z.txt", "X/y"}, wantErr: ErrUnsafePath},
		{name: "unsafe", names: []string{"ok.txt", "../up.txt"}, wantErr: ErrUnsafePath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var comps []spec.ComponentEntry
			var layers []ocispec.Descriptor
			for _, n := range tc.names {
				comps = append(comps, comp(n))
				layers = append(layers, comp(n).Descriptor())
			}
			id := &Identity{Identity: &spec.Identity{Artifact: spec.Artifact{Manifest: ocispec.Manifest{Layers: layers}}, Document: spec.IdentityDocument{Components: comps}}}
			root, err := os.OpenRoot(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			plan, err := planExtraction(root, id, false)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("planExtraction error = %v, want %v", err, tc.wantErr)
			}
			if err == nil && len(plan) != len(tc.names) {
				t.Errorf("plan has %d files, want %d", len(plan), len(tc.names))
			}
		})
	}
}

// TestVerifyingReader checks every way a blob can differ from its
// descriptor, and that nothing past the declared size is returned.
func TestVerifyingReader(t *testing.T) {
	blob := []byte("the component bytes")
	good := ocispec.Descriptor{Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	with := func(f func(*ocispec.Descriptor)) ocispec.Descriptor { d := good; f(&d); return d }
	for _, tc := range []struct {
		name      string
		body      io.Reader
		desc      ocispec.Descriptor
		wantCheck string // "" for success
		wantOther error  // a transport error passed through
	}{
		{name: "exact", body: bytes.NewReader(blob), desc: good},
		{name: "one byte at a time", body: iotest.OneByteReader(bytes.NewReader(blob)), desc: good},
		{name: "data with EOF", body: iotest.DataErrReader(bytes.NewReader(blob)), desc: good},
		{name: "empty blob", body: bytes.NewReader(nil), desc: ocispec.Descriptor{Digest: digest.FromBytes(nil), Size: 0}},
		{name: "other bytes same size", body: bytes.NewReader(bytes.ToUpper(blob)), desc: good, wantCheck: "blob-digest"},
		{name: "short", body: bytes.NewReader(blob[:5]), desc: good, wantCheck: "blob-size"},
		{name: "long", body: bytes.NewReader(append(blob, '!')), desc: good, wantCheck: "blob-size"},
		{name: "endless", body: endless{}, desc: good, wantCheck: "blob-size"},
		{name: "size claims more", body: bytes.NewReader(blob), desc: with(func(d *ocispec.Descriptor) { d.Size += 10 }), wantCheck: "blob-size"},
		{name: "negative size", body: bytes.NewReader(blob), desc: with(func(d *ocispec.Descriptor) { d.Size = -1 }), wantCheck: "blob-size"},
		{name: "2^62 bytes", body: endless{}, desc: with(func(d *ocispec.Descriptor) { d.Size = 1 << 62 }), wantCheck: "blob-size"},
		{name: "max int64", body: endless{}, desc: with(func(d *ocispec.Descriptor) { d.Size = 1<<63 - 1 }), wantCheck: "blob-size"},
		{name: "invalid digest", body: bytes.NewReader(blob), desc: with(func(d *ocispec.Descriptor) { d.Digest = "sha256:xyz" }), wantCheck: "blob-digest"},
		{name: "transport error", body: io.MultiReader(bytes.NewReader(blob[:4]), iotest.ErrReader(io.ErrUnexpectedEOF)), desc: good, wantOther: io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			vr, err := newVerifyingReader(tc.body, tc.desc)
			if err == nil {
				_, err = io.CopyBuffer(writerOnly{&out}, vr, make([]byte, 7))
			}
			var bp *blobProblem
			switch {
			case tc.wantOther != nil:
				if !errors.Is(err, tc.wantOther) || errors.As(err, &bp) {
					t.Fatalf("error = %v, want %v passed through", err, tc.wantOther)
				}
			case tc.wantCheck == "":
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				if !bytes.Equal(out.Bytes(), blob) && tc.desc.Size != 0 {
					t.Errorf("read %q, want %q", out.Bytes(), blob)
				}
			default:
				if !errors.As(err, &bp) || bp.check != tc.wantCheck {
					t.Fatalf("error = %v, want a %s problem", err, tc.wantCheck)
				}
			}
			if int64(out.Len()) > max(tc.desc.Size, 0) {
				t.Errorf("returned %d bytes, more than the %d of the descriptor", out.Len(), tc.desc.Size)
			}
		})
	}
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestRetriable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{name: "unexpected EOF", err: fmt.Errorf("read: %w", io.ErrUnexpectedEOF), want: true},
		{name: "503", err: &errcode.ErrorResponse{StatusCode: http.StatusServiceUnavailable}, want: true},
		{name: "429", err: &errcode.ErrorResponse{StatusCode: http.StatusTooManyRequests}, want: true},
		{name: "401", err: &errcode.ErrorResponse{StatusCode: http.StatusUnauthorized}, want: false},
		{name: "not found", err: fmt.Errorf("x: %w", errdef.ErrNotFound), want: false},
		{name: "problem", err: &blobProblem{check: "blob-digest"}, want: false},
		{name: "local write", err: &sinkError{err: syscall.ENOSPC}, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retriable(t.Context(), tc.err); got != tc.want {
				t.Errorf("retriable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestDiffComponents(t *testing.T) {
	e := func(role, name, content string) spec.ComponentEntry {
		return spec.ComponentEntry{Role: role, Name: name, MediaType: mediatype.Component(role, mediatype.FormatText),
			Digest: digest.FromString(content), Size: int64(len(content))}
	}
	a, b, c := e("context", "a.md", "A"), e("context", "b.md", "B"), e("context", "c.md", "C")
	for _, tc := range []struct {
		name      string
		want, got []spec.ComponentEntry
		changes   []string // "name:change"
	}{
		{name: "same", want: []spec.ComponentEntry{a, b}, got: []spec.ComponentEntry{a, b}},
		{name: "added", want: []spec.ComponentEntry{a}, got: []spec.ComponentEntry{a, b}, changes: []string{"b.md:added"}},
		{name: "removed", want: []spec.ComponentEntry{a, b}, got: []spec.ComponentEntry{b}, changes: []string{"a.md:removed"}},
		{name: "changed", want: []spec.ComponentEntry{a, b}, got: []spec.ComponentEntry{a, e("context", "b.md", "B2")}, changes: []string{"b.md:changed"}},
		{name: "swapped", want: []spec.ComponentEntry{a, b, c}, got: []spec.ComponentEntry{b, a, c}, changes: []string{"a.md:moved", "b.md:moved"}},
		{name: "other role", want: []spec.ComponentEntry{a}, got: []spec.ComponentEntry{e("config", "a.md", "A")}, changes: []string{"a.md:changed"}},
		{name: "inserted first", want: []spec.ComponentEntry{a, b}, got: []spec.ComponentEntry{c, a, b}, changes: []string{"c.md:added"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range diffComponents(tc.want, tc.got) {
				got = append(got, d.Name+":"+d.Change)
				if (d.Change != "added") != (d.Want != nil) || (d.Change != "removed") != (d.Got != nil) {
					t.Errorf("%s: want/got set wrongly: %+v", d.Name, d)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.changes, ",") {
				t.Errorf("differences = %v, want %v", got, tc.changes)
			}
		})
	}
}

// BenchmarkVerifyBlob measures the verifying reader's throughput over an
// 8 MiB blob with the fixed copy buffer.
func BenchmarkVerifyBlob(b *testing.B) {
	blob := make([]byte, 8<<20)
	if _, err := rand.Read(blob); err != nil {
		b.Fatal(err)
	}
	desc := ocispec.Descriptor{Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	buf := make([]byte, copyBufSize)
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		vr, err := newVerifyingReader(bytes.NewReader(blob), desc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(writerOnly{discardSink{}}, vr, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
