// Package depguard holds the test that keeps the library light: packages
// that read, write, compare or capture runs must not depend on the signing
// stack (cosign, sigstore, TUF) or what it brings (gRPC, OpenTelemetry,
// go-openapi). Only the packages that sign or check signatures (pack/sign,
// pack/attest, pull/sigverify) may import it. It has no code; its test
// runs "go list -deps" on each light package.
package depguard
