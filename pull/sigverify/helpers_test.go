package sigverify_test

import (
	"github.com/runid/runid-oci/internal/testutil"
)

const (
	examples = "../../testdata/examples"
	tag      = "v1"
	repoName = "runid/test"
)

// sources and registries are the stores and registries the tests run on.
var (
	sources    = testutil.Sources(repoName)
	registries = testutil.Registries()
)
