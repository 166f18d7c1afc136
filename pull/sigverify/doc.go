// Package sigverify checks the cosign signatures of a manifest with a
// public key, offline (spec/SPEC.md §10): every signature in the tag
// format and in the Sigstore bundle format is examined, each must name the
// manifest it is checked against, and at least one must verify. Verifier
// plugs these checks into pull.Verify (VerifyOptions.Signatures), which
// then also verifies an output record's chain with keys.
package sigverify
