package sign_test

import (
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
)

// examplesDir is where the example declarations live.
const examplesDir = "../../testdata/examples"

// load loads a declaration or fails the test.
func load(t testing.TB, path string) *pack.Composition {
	t.Helper()
	return testutil.Load(t, path)
}
