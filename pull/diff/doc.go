// Package diff compares the compositions of two runs, each an identity in
// a store or a declaration, role by role: components are paired by logical
// name and reported added, removed, moved or changed, with a unified diff
// for text, changes by path for JSON and YAML, digests for binary content
// and commitments for withheld components. Both sides are fully verified
// first, as pull.Verify verifies them.
package diff
