// Package spec holds the format rules of spec/SPEC.md, with no I/O: the
// declaration (runid.yaml), the identity document and manifest and their
// checks, canonical JSON (RFC 8785), logical names, withheld components
// and reveals, output records and links, the signature names and bounds of
// §10, and the sentinel errors of format violations. Both sides build on
// it: pack writes what it describes and pull checks it.
package spec
