package sigverify_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
)

const (
	examples = "../../testdata/examples"
	tag      = "v1"
	repoName = "runid/test"
)

// loadExample builds the composition of testdata/examples/<name>.
func loadExample(t testing.TB, name string) *pack.Composition {
	t.Helper()
	return testutil.Load(t, filepath.Join(examples, name, "runid.yaml"))
}

// source is a kind of store an identity can be read from.
type source struct {
	name string
	open func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget
}

// sources are testutil.Sources, under the names these tests use.
var sources = func() []source {
	var out []source
	for _, s := range testutil.Sources(repoName) {
		out = append(out, source{name: s.Name, open: s.Open})
	}
	return out
}()

// registry is an in-process registry, for tests that need HTTP.
type registry struct {
	name    string
	handler func(testing.TB) http.Handler
}

// registries are testutil.Registries, under the names these tests use.
var registries = func() []registry {
	var out []registry
	for _, r := range testutil.Registries() {
		out = append(out, registry{name: r.Name, handler: r.Handler})
	}
	return out
}()
