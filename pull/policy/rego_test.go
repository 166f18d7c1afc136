package policy_test

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/tester"
)

// TestRegoUnitTests runs the _test.rego files of the example policies with
// OPA's own test runner (what "opa test testdata/policies" runs).
func TestRegoUnitTests(t *testing.T) {
	results, err := tester.Run(t.Context(), "../../testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 30 {
		t.Fatalf("%d rego tests ran; the example policies have more", len(results))
	}
	for _, r := range results {
		if r.Fail || r.Error != nil || r.Skip {
			t.Errorf("%s.%s: fail=%v error=%v skip=%v (%s:%d)", r.Package, r.Name, r.Fail, r.Error, r.Skip, r.Location.File, r.Location.Row)
		}
	}
	t.Logf("%d rego tests passed", len(results))
}
