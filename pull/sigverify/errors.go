package sigverify

import (
	"errors"

	"github.com/runid/runid-oci/pack/sign"
)

// Sentinel errors; test with errors.Is. A signature that does not verify
// is a *pull.VerificationError (pull.ErrVerification).
var (
	// ErrNoKey: a signature check was asked without a public key.
	ErrNoKey = errors.New("no public key to verify signatures with")
	// ErrKey: a public key file cannot be read or parsed.
	ErrKey = sign.ErrKey
)
