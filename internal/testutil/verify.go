package testutil

import (
	"errors"
	"testing"

	"github.com/runid/runid-oci/pull"
)

// WantVerificationError fails unless err is a *pull.VerificationError that
// wraps pull.ErrVerification and lists at least one problem, and a problem
// with each of checks; it returns the error.
func WantVerificationError(t testing.TB, err error, checks ...string) *pull.VerificationError {
	t.Helper()
	var ve *pull.VerificationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want a *pull.VerificationError", err, err)
	}
	if !errors.Is(err, pull.ErrVerification) {
		t.Fatalf("error %v does not wrap pull.ErrVerification", err)
	}
	if len(ve.Problems) == 0 {
		t.Fatal("verification error without problems")
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
