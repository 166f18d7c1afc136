// Package sign signs manifests with cosign keys, offline, in the formats
// cosign v2 writes (spec/SPEC.md §10): the tag format ("sha256-<hex>.sig")
// and the Sigstore bundle format as an OCI 1.1 referrer. It also makes,
// reads and writes cosign key files, and holds the cosign payload and
// signature-manifest code that pull/sigverify checks with.
//
// This package and pull/sigverify are the only ones that import cosign and
// sigstore: importing pack or pull does not bring in the signing stack.
// Nothing here talks to a transparency log or a certificate authority.
package sign
