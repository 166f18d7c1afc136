package pull_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

const (
	examples = "../testdata/examples"
	repoName = "runid/test"
	tag      = "v1"
)

// sources and registries are the stores and registries the tests run on.
var (
	sources    = testutil.Sources(repoName)
	registries = testutil.Registries()
)

// faultFunc handles a request in place of the registry and reports true,
// or reports false to let the registry answer.
type faultFunc func(w http.ResponseWriter, r *http.Request, next http.Handler) bool

// startFaulty serves the registry handler next wrapped by fault and returns
// a repository client for it. Pushes should go to the returned clean
// repository, which talks to next directly.
func startFaulty(t testing.TB, next http.Handler, fault faultFunc) (faulty, clean *remote.Repository) {
	t.Helper()
	reg := testregistry.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fault(w, r, next) {
			next.ServeHTTP(w, r)
		}
	}))
	cleanReg := testregistry.Serve(t, next)
	return testregistry.Repository(t, reg, repoName), testregistry.Repository(t, cleanReg, repoName)
}

// record runs the real registry for r and returns its response.
func record(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

// replay writes a recorded response with body instead of the recorded one,
// with a matching Content-Length unless dropLength.
func replay(w http.ResponseWriter, rec *httptest.ResponseRecorder, body []byte, dropLength bool) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	if !dropLength {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
	if dropLength {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
}

// isBlobGet matches a GET of the blob d.
func isBlobGet(r *http.Request, d digest.Digest) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d.String())
}

// isManifest matches a GET or HEAD of the manifest ref.
func isManifest(r *http.Request, ref string) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasSuffix(r.URL.Path, "/manifests/"+ref)
}

// fastRetry makes repo retry 5xx answers quickly, so that a test of a
// registry that always fails stays short.
func fastRetry(repo *remote.Repository) {
	repo.Client = &auth.Client{Client: &http.Client{Transport: &retry.Transport{
		Base: http.DefaultTransport,
		Policy: func() retry.Policy {
			return &retry.GenericPolicy{Retryable: retry.DefaultPredicate, Backoff: retry.DefaultBackoff,
				MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond, MaxRetry: 2}
		},
	}}}
}

// snapshot describes every entry below root: "dir", "file:<sha256>" or
// "link:<target>", by slash path.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link:" + target
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			out[rel] = "file:" + hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	return out
}

// assertUnchanged fails if the tree below root differs from before.
func assertUnchanged(t testing.TB, root string, before map[string]string) {
	t.Helper()
	after := snapshot(t, root)
	if !maps.Equal(before, after) {
		var diff []string
		for k, v := range after {
			if before[k] != v {
				diff = append(diff, "+"+k+" "+v)
			}
		}
		for k, v := range before {
			if _, ok := after[k]; !ok {
				diff = append(diff, "-"+k+" "+v)
			}
		}
		slices.Sort(diff)
		t.Fatalf("the tree below %s changed:\n%s", root, strings.Join(diff, "\n"))
	}
}

// wantFailedChecks fails unless the report is not verified and lists a
// failed check with each name.
func wantFailedChecks(t testing.TB, rep *pull.Report, checks ...string) {
	t.Helper()
	if rep == nil {
		t.Fatal("report is nil")
	}
	if rep.Verified {
		t.Errorf("report says verified: %+v", rep.Checks)
	}
	for _, c := range checks {
		found := false
		for _, ch := range rep.Checks {
			found = found || (ch.Check == c && !ch.OK)
		}
		if !found {
			t.Errorf("report checks %+v lack a failed %q", rep.Checks, c)
		}
	}
}

// disclosed returns the components of c that are not withheld.
func disclosed(c *pack.Composition) []pack.Component {
	var out []pack.Component
	for _, comp := range c.Components {
		if comp.MediaType != mediatype.Withheld {
			out = append(out, comp)
		}
	}
	return out
}

// readTree returns the regular files below dir by slash path.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// packLoad builds the declaration at path.
func packLoad(t testing.TB, path string) (*pack.Composition, error) {
	t.Helper()
	return pack.Load(t.Context(), path, pack.BuildOptions{})
}

// pushBigComponent packs a declaration whose one context component,
// data/big.bin, holds size random bytes from seed, and pushes it into a
// new OCI layout under tag.
func pushBigComponent(t *testing.T, size int64, seed [32]byte) (*oci.Store, *pack.Composition) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(w, rand.NewChaCha8(seed), size); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return pushOneContext(t, dir, "{name: data/big.bin, file: big.bin, format: binary}")
}

// pushOneContext writes into dir a declaration whose one context
// component is entry (a YAML flow mapping), packs it and pushes it into a
// new OCI layout under tag.
func pushOneContext(t *testing.T, dir, entry string) (*oci.Store, *pack.Composition) {
	t.Helper()
	decl := filepath.Join(dir, "runid.yaml")
	writeFile0(t, decl, `runid: "1"
roles:
  model: {name: m}
  parameters: {t: 1}
  system-prompt: none
  tools: none
  context:
    - `+entry+`
  input: none
  config: none
  runtime: {r: 1}
`)
	comp, err := packLoad(t, decl)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := testutil.NewLayout(t)
	testutil.Push(t, store, comp, tag)
	return store, comp
}
