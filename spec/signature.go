// Signature formats (spec/SPEC.md §10): the cosign v2 tag format and the
// Sigstore bundle format, as cosign v2 writes and reads them, so that the
// stock cosign CLI accepts signatures made by runid-oci and the other way
// round:
//
//   - The tag format (cosign's default, specs/SIGNATURE_SPEC.md in cosign):
//     a manifest tagged "sha256-<hex>.sig" whose layers are simple-signing
//     payloads (SimpleSigningMediaType) with the base64 signature in the
//     SignatureAnnotation. runid-oci also gives that manifest a subject and
//     an artifactType (SignatureArtifactType), so referrer-aware tools such
//     as "oras cp -r" carry it; cosign ignores both.
//   - The bundle format (cosign sign --new-bundle-format): an OCI 1.1
//     referrer with artifactType BundleMediaType whose single layer is a
//     Sigstore bundle holding a DSSE envelope over an in-toto statement
//     whose subject is the signed manifest digest.
//
// Making and checking signatures is left to pack/sign and pull/sigverify;
// this file holds only the names and bounds that every reader needs.

package spec

import (
	"fmt"

	"github.com/opencontainers/go-digest"
)

// Media types, annotation keys and types written by cosign v2.6.5.
const (
	// SimpleSigningMediaType is the media type of a tag-format signature
	// layer: a simple-signing JSON payload.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds the base64 signature of a tag-format layer.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// CertificateAnnotation holds a PEM certificate on a keyless signature.
	CertificateAnnotation = "dev.sigstore.cosign/certificate"
	// ChainAnnotation holds a PEM certificate chain on a keyless signature.
	ChainAnnotation = "dev.sigstore.cosign/chain"
	// RekorBundleAnnotation holds the Rekor entry of a keyless tag-format
	// signature: its body, integrated time, log index, log ID and signed
	// entry timestamp (cosign's "bundle" annotation).
	RekorBundleAnnotation = "dev.sigstore.cosign/bundle"
	// RFC3161TimestampAnnotation holds an RFC 3161 timestamp over the
	// signature of a tag-format signature, as cosign's --timestamp-server-url
	// writes it.
	RFC3161TimestampAnnotation = "dev.sigstore.cosign/rfc3161timestamp"
	// SignatureConfigMediaType is the config media type of a tag-format
	// signature manifest.
	SignatureConfigMediaType = "application/vnd.oci.image.config.v1+json"
	// SignatureArtifactType is the artifactType runid-oci gives a
	// tag-format signature manifest that has a subject (cosign's OCI 1.1
	// artifact type for signatures).
	SignatureArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"

	// BundleMediaType is the media type of a Sigstore bundle v0.3, and the
	// artifactType of a bundle-format signature referrer.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// BundleV01MediaType and BundleV02MediaType are the media types of the
	// older Sigstore bundle versions, accepted on verification.
	BundleV01MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1"
	BundleV02MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.2"
	// EmptyConfigMediaType is the config media type of a bundle referrer.
	EmptyConfigMediaType = "application/vnd.oci.empty.v1+json"
	// BundleContentAnnotation says what a bundle holds ("dsse-envelope").
	BundleContentAnnotation = "dev.sigstore.bundle.content"
	// BundlePredicateTypeAnnotation names the predicate type in a bundle.
	BundlePredicateTypeAnnotation = "dev.sigstore.bundle.predicateType"
	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// InTotoStatementType is the _type of an in-toto v1 statement.
	InTotoStatementType = "https://in-toto.io/Statement/v1"
	// SignPredicateType is the predicate type of a cosign image signature
	// in the bundle format.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
)

// Bounds, as cosign has them.
const (
	// MaxSignatures is how many signatures are examined at most for one
	// subject (cosign: maxAllowedSigsOrAtts).
	MaxSignatures = 100
	// MaxSignatureArtifactSize caps the bytes of one signature artifact: its
	// payloads or its bundle (cosign: 128 MiB per layer).
	MaxSignatureArtifactSize = 128 << 20
	// MaxSignatureLayers caps the layers of one signature manifest (cosign: 1000).
	MaxSignatureLayers = 1000
	// MaxSignatureManifestSize caps a signature manifest (4 MiB, as registries do).
	MaxSignatureManifestSize = 4 << 20
)

// SignatureTag returns cosign's tag for the signatures of the manifest d:
// "sha256-<hex>.sig".
func SignatureTag(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("signature tag for %q: %w", d, err)
	}
	return d.Algorithm().String() + "-" + d.Encoded() + ".sig", nil
}

// IsBundleMediaType reports whether mt is the media type of a Sigstore
// bundle, version 0.1 to 0.3.
func IsBundleMediaType(mt string) bool {
	switch mt {
	case BundleMediaType, BundleV01MediaType, BundleV02MediaType, "application/vnd.dev.sigstore.bundle.v0.3.0+json":
		return true
	}
	return false
}
