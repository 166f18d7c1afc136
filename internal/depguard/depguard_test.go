package depguard

import (
	"os/exec"
	"strings"
	"testing"
)

// light are the packages whose dependency graphs must stay free of the
// signing stack.
var light = []string{
	"github.com/runid/runid-oci/mediatype",
	"github.com/runid/runid-oci/spec",
	"github.com/runid/runid-oci/pack",
	"github.com/runid/runid-oci/pack/errs",
	"github.com/runid/runid-oci/pack/target",
	"github.com/runid/runid-oci/pack/referrer",
	"github.com/runid/runid-oci/pack/scan",
	"github.com/runid/runid-oci/pack/capture",
	"github.com/runid/runid-oci/pack/capture/proxy",
	"github.com/runid/runid-oci/pull",
	"github.com/runid/runid-oci/pull/diff",
	"github.com/runid/runid-oci/pull/policy",
}

// forbidden are substrings of import paths that no light package may
// depend on, directly or not.
var forbidden = []string{
	"sigstore",
	"cosign",
	"theupdateframework",
	"google.golang.org/grpc",
	"go.opentelemetry.io",
	"go-openapi",
}

// TestLightDependencies runs "go list -deps" on every light package (its
// non-test build graph) and fails on any forbidden dependency, naming the
// package that brings it in.
func TestLightDependencies(t *testing.T) {
	for _, pkg := range light {
		t.Run(strings.TrimPrefix(pkg, "github.com/runid/runid-oci/"), func(t *testing.T) {
			t.Parallel()
			out, err := exec.CommandContext(t.Context(), "go", "list", "-deps",
				"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			var bad []string
			importers := map[string][]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				fields := strings.Fields(line)
				if len(fields) == 0 {
					continue
				}
				for _, imp := range fields[1:] {
					importers[imp] = append(importers[imp], fields[0])
				}
				for _, f := range forbidden {
					if strings.Contains(fields[0], f) {
						bad = append(bad, fields[0])
						break
					}
				}
			}
			for _, b := range bad {
				t.Errorf("%s depends on %s (imported by %s)", pkg, b, strings.Join(importers[b], ", "))
			}
			if len(bad) > 0 {
				t.Logf("only the packages that sign or check signatures may import the signing stack; take it as an interface or a hook")
			}
		})
	}
}
