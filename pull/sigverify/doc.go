// Package sigverify checks the signatures and run attestations of a
// manifest (spec/SPEC.md §10, §14) in the formats cosign writes: signed
// with a public key, offline (VerifySignatures, VerifyAttestations), or
// keyless, with a Fulcio certificate and a transparency log entry checked
// against a trusted root and an identity policy (VerifyKeyless). Every
// signature found is examined, each must name the manifest it is checked
// against, and at least one must verify. Verifier plugs these checks into
// pull.Verify (VerifyOptions.Signatures), which then also verifies an
// output record's chain with keys.
package sigverify
