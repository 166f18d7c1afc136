// Package sign signs manifests in the formats cosign v2 writes
// (spec/SPEC.md §10): the tag format ("sha256-<hex>.sig") and the Sigstore
// bundle format as an OCI 1.1 referrer, with a cosign key, offline (Sign),
// or keyless, with a short-lived Fulcio certificate logged in Rekor
// (SignKeyless). What signing needs belongs here too: cosign key files,
// and the payloads, DSSE envelopes and signature and attestation manifests
// that pack/attest stores and pull/sigverify checks.
//
// Only this package, pack/attest and pull/sigverify import cosign and
// sigstore: importing pack or pull does not bring in the signing stack.
// Only SignKeyless talks to the network.
package sign
