package diff_test

import (
	"errors"
	"testing"

	"github.com/runid/runid-oci/pull"
)

const examples = "../../testdata/examples"

// wantVerificationError fails unless err is a *pull.VerificationError
// that wraps pull.ErrVerification and lists a problem with each of checks.
func wantVerificationError(t testing.TB, err error, checks ...string) *pull.VerificationError {
	t.Helper()
	var ve *pull.VerificationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want a *pull.VerificationError", err, err)
	}
	if !errors.Is(err, pull.ErrVerification) {
		t.Fatalf("error %v does not wrap pull.ErrVerification", err)
	}
	for _, c := range checks {
		found := false
		for _, p := range ve.Problems {
			found = found || p.Check == c
		}
		if !found {
			t.Errorf("problems %v lack check %q", ve.Problems, c)
		}
	}
	return ve
}
