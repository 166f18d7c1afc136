// Package testutil holds the helpers that the tests of several packages
// share: the stores and registries the read side is tested on, the example
// declarations, signing keys and the cosign CLI, pushing a composition, OCI
// layouts on disk (their tar form, their blobs), and checks of
// verification errors. Only _test files import it.
package testutil

import (
	"archive/tar"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack"
)

// Key returns a fresh ECDSA P-256 signer (cosign's default algorithm).
// Key files and their encryption are tested in internal/sign.
func Key(t testing.TB) signature.SignerVerifier {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// Cosign runs the pinned cosign CLI offline in dir (also its HOME), with
// password as COSIGN_PASSWORD, and returns its combined output.
func Cosign(t testing.TB, dir, password string, args ...string) (string, error) {
	t.Helper()
	return RunCosign(t, clitools.Cosign(t), dir, password, args...)
}

// RunCosign runs the cosign binary bin (v2 or v3) as Cosign does.
func RunCosign(t testing.TB, bin, dir, password string, args ...string) (string, error) {
	t.Helper()
	cmd := clitools.Command(t, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD="+password, "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, ".sigstore"),
		"COSIGN_EXPERIMENTAL=0", "SIGSTORE_NO_CACHE=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ReadFile reads path or fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ComponentBytes reads a packed component's canonical bytes.
func ComponentBytes(t testing.TB, c pack.Component) []byte {
	t.Helper()
	rc, err := c.Open()
	if err != nil {
		t.Fatalf("open component %q: %v", c.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read component %q: %v", c.Name, err)
	}
	return b
}

// Load builds the declaration at path.
func Load(t testing.TB, path string) *pack.Composition {
	t.Helper()
	c, err := pack.Load(t.Context(), path, pack.BuildOptions{})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return c
}

// Examples is the folder of the example declarations,
// testdata/examples, wherever the test runs.
var Examples = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "examples")
}()

// LoadExample builds the composition of testdata/examples/<name>.
func LoadExample(t testing.TB, name string) *pack.Composition {
	t.Helper()
	return Load(t, filepath.Join(Examples, name, "runid.yaml"))
}

// Push pushes c to target, tagged tag, and returns its manifest descriptor.
func Push(t testing.TB, target oras.Target, c *pack.Composition, tag string) ocispec.Descriptor {
	t.Helper()
	res, err := pack.Push(t.Context(), target, c, pack.PushOptions{Tag: tag})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	return res.Descriptor
}

// NewLayout creates an empty OCI layout store in a fresh directory and
// returns it with the directory.
func NewLayout(t testing.TB) (*oci.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	s, err := oci.NewWithContext(t.Context(), dir)
	if err != nil {
		t.Fatalf("oci layout: %v", err)
	}
	return s, dir
}

// TarDir writes the tree below dir into a tar file at path.
func TarDir(t testing.TB, dir, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatalf("tar %s: %v", dir, err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TarLayout writes the OCI layout directory dir as a tar file and opens it.
func TarLayout(t testing.TB, dir string) oras.ReadOnlyTarget {
	t.Helper()
	path := filepath.Join(t.TempDir(), "layout.tar")
	TarDir(t, dir, path)
	s, err := oci.NewFromTar(t.Context(), path)
	if err != nil {
		t.Fatalf("open layout tar: %v", err)
	}
	return s
}

// BlobPath is where the OCI layout at dir keeps the blob d.
func BlobPath(dir string, d digest.Digest) string {
	return filepath.Join(dir, ocispec.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
}

// TamperBlob overwrites the blob d in the OCI layout at dir with other
// bytes of the same length (every byte's 0x20 bit flipped).
func TamperBlob(t testing.TB, dir string, d digest.Digest) {
	t.Helper()
	p := BlobPath(dir, d)
	b := ReadFile(t, p)
	for i := range b {
		b[i] ^= 0x20
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Source is a kind of store an identity can be read from.
type Source struct {
	Name string
	// Open stores whatever push does into a fresh store of this kind and
	// returns the store to read from.
	Open func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget
}

// Sources are the stores the read side is tested on: an OCI layout, a tar
// of one, Distribution (no referrers API) and go-containerregistry's
// registry (with it), holding repository repo.
func Sources(repo string) []Source {
	return []Source{
		{Name: "layout", Open: func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget {
			s, _ := NewLayout(t)
			push(s)
			return s
		}},
		{Name: "layout-tar", Open: func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget {
			s, dir := NewLayout(t)
			push(s)
			return TarLayout(t, dir)
		}},
		{Name: "distribution", Open: func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget {
			r := testregistry.Repository(t, testregistry.StartDistribution(t), repo)
			push(r)
			return r
		}},
		{Name: "ggcr", Open: func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget {
			r := testregistry.Repository(t, testregistry.StartGGCR(t), repo)
			push(r)
			return r
		}},
	}
}

// Registry is an in-process registry, for tests that need its HTTP handler.
type Registry struct {
	Name    string
	Handler func(testing.TB) http.Handler
}

// Registries are Distribution and go-containerregistry's registry.
func Registries() []Registry {
	return []Registry{
		{Name: "distribution", Handler: testregistry.NewDistributionHandler},
		{Name: "ggcr", Handler: testregistry.NewGGCRHandler},
	}
}
