package errs_test

import (
	"errors"
	"fmt"
	"testing"

	"oras.land/oras-go/v2/errdef"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/errs"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// TestOneSet: the names each package exports for a shared sentinel are the
// same value, so an error from either side matches the other's name, and
// each matches the oras-go errdef value it stands for.
func TestOneSet(t *testing.T) {
	tests := []struct {
		name   string
		shared error
		names  []error
		errdef error
	}{
		{"not found", errs.ErrNotFound, []error{pull.ErrNotFound, referrer.ErrNotFound}, errdef.ErrNotFound},
		{"too large", errs.ErrTooLarge, []error{pull.ErrTooLarge, referrer.ErrTooLarge, sign.ErrTooLarge}, errdef.ErrSizeExceedsLimit},
		{"invalid reference", errs.ErrInvalidReference, []error{pull.ErrInvalidReference}, errdef.ErrInvalidReference},
		{"push", errs.ErrPush, []error{pack.ErrPush}, nil},
		{"verification", errs.ErrVerification, []error{pull.ErrVerification}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wrapped := fmt.Errorf("somewhere: %w", tc.shared)
			for _, n := range tc.names {
				if n != tc.shared || !errors.Is(wrapped, n) {
					t.Errorf("%v is not the shared value %v", n, tc.shared)
				}
			}
			if tc.errdef != nil && !errors.Is(wrapped, tc.errdef) {
				t.Errorf("%v does not match %v", tc.shared, tc.errdef)
			}
		})
	}
}

func TestVerificationError(t *testing.T) {
	var err error = &pull.VerificationError{Reference: "r", Problems: []spec.Problem{
		{Check: "a", Subject: "s", Msg: "one"}, {Check: "b", Msg: "two"}, {Check: "c", Msg: "three"}, {Check: "d", Msg: "four"}}}
	if !errors.Is(err, errs.ErrVerification) {
		t.Fatalf("%v does not wrap ErrVerification", err)
	}
	var ve *errs.VerificationError
	if !errors.As(err, &ve) || len(ve.Problems) != 4 {
		t.Fatalf("errors.As: %v", ve)
	}
	if got, want := err.Error(), "r does not verify; "; len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("message %q", got)
	}
	if got := err.Error(); got[len(got)-len("and 1 more"):] != "and 1 more" {
		t.Errorf("message %q does not count the problems left out", got)
	}
}
