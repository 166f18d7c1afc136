package sigverify_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testregistry"
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
	// push stores whatever push does into a fresh store of this kind and
	// returns the store to read from.
	open func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget
}

var sources = []source{
	{name: "layout", open: func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget {
		s, _ := testutil.NewLayout(t)
		push(s)
		return s
	}},
	{name: "layout-tar", open: func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget {
		s, dir := testutil.NewLayout(t)
		push(s)
		return testutil.TarLayout(t, dir)
	}},
	{name: "distribution", open: func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget {
		repo := testregistry.Repository(t, testregistry.StartDistribution(t), repoName)
		push(repo)
		return repo
	}},
	{name: "ggcr", open: func(t testing.TB, push func(oras.Target)) oras.ReadOnlyTarget {
		repo := testregistry.Repository(t, testregistry.StartGGCR(t), repoName)
		push(repo)
		return repo
	}},
}

// registries are the in-process registries, for tests that need HTTP.
var registries = []struct {
	name    string
	handler func(testing.TB) http.Handler
}{
	{name: "distribution", handler: testregistry.NewDistributionHandler},
	{name: "ggcr", handler: testregistry.NewGGCRHandler},
}
