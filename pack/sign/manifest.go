package sign

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/spec"
)

// Built is a signature manifest ready to push: the manifest and its config
// blob, with their descriptors.
type Built struct {
	Manifest     []byte
	Descriptor   ocispec.Descriptor
	Config       []byte
	ConfigDesc   ocispec.Descriptor
	ArtifactType string
}

// SignatureLayer returns the descriptor of a tag-format signature layer:
// the payload blob with the base64 signature in spec.SignatureAnnotation.
func SignatureLayer(payload []byte, b64sig string) ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType:   spec.SimpleSigningMediaType,
		Digest:      digest.FromBytes(payload),
		Size:        int64(len(payload)),
		Annotations: map[string]string{spec.SignatureAnnotation: b64sig},
	}
}

// signatureConfig is the config blob cosign (through go-containerregistry)
// writes for a signature image; fields in cosign's order.
type signatureConfig struct {
	Architecture string          `json:"architecture"`
	Created      string          `json:"created"`
	History      []historyEntry  `json:"history"`
	OS           string          `json:"os"`
	RootFS       signatureRootFS `json:"rootfs"`
	Config       struct{}        `json:"config"`
}

type historyEntry struct {
	Created string `json:"created"`
}

type signatureRootFS struct {
	Type    string          `json:"type"`
	DiffIDs []digest.Digest `json:"diff_ids"`
}

const zeroTime = "0001-01-01T00:00:00Z"

// BuildTagManifest builds a tag-format signature manifest holding layers
// (each from SignatureLayer), with the config blob cosign writes for them.
// A non-nil subject is recorded, with artifactType spec.SignatureArtifactType,
// so that referrer-aware tools find and carry the signatures; cosign
// ignores both fields.
func BuildTagManifest(layers []ocispec.Descriptor, subject *ocispec.Descriptor) (Built, error) {
	return buildTagManifest(layers, subject, spec.SignatureArtifactType)
}

// BuildAttestationTagManifest builds a tag-format attestation manifest
// ("sha256-<hex>.att") holding layers (each from AttestationLayer), as
// BuildTagManifest does for signatures; a non-nil subject is recorded with
// artifactType AttestationArtifactType.
func BuildAttestationTagManifest(layers []ocispec.Descriptor, subject *ocispec.Descriptor) (Built, error) {
	return buildTagManifest(layers, subject, AttestationArtifactType)
}

func buildTagManifest(layers []ocispec.Descriptor, subject *ocispec.Descriptor, artifactType string) (Built, error) {
	if len(layers) == 0 {
		return Built{}, fmt.Errorf("%w: no signature layers", ErrMalformedManifest)
	}
	if len(layers) > spec.MaxSignatureLayers {
		return Built{}, fmt.Errorf("%w: %d layers, at most %d", ErrTooLarge, len(layers), spec.MaxSignatureLayers)
	}
	cfg := signatureConfig{Created: zeroTime, RootFS: signatureRootFS{Type: "layers"}}
	for _, l := range layers {
		cfg.History = append(cfg.History, historyEntry{Created: zeroTime})
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.Digest)
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return Built{}, err
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: spec.SignatureConfigMediaType,
			Digest:    digest.FromBytes(config),
			Size:      int64(len(config)),
		},
		Layers: layers,
	}
	if subject != nil {
		s := plainDescriptor(*subject)
		m.Subject = &s
		m.ArtifactType = artifactType
	}
	return finish(m, config)
}

// BuildBundleManifest builds a bundle-format signature referrer as cosign
// sign --new-bundle-format writes it: artifactType spec.BundleMediaType, the
// empty config, one layer (the bundle), subject, and cosign's annotations
// with created as the creation time.
func BuildBundleManifest(bundle ocispec.Descriptor, subject ocispec.Descriptor, created time.Time) (Built, error) {
	return buildBundleManifest(bundle, subject, created, spec.SignPredicateType)
}

func buildBundleManifest(bundle ocispec.Descriptor, subject ocispec.Descriptor, created time.Time, predicateType string) (Built, error) {
	config := []byte("{}")
	s := plainDescriptor(subject)
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: spec.BundleMediaType,
		Config: ocispec.Descriptor{
			MediaType:    spec.EmptyConfigMediaType,
			Digest:       digest.FromBytes(config),
			Size:         int64(len(config)),
			ArtifactType: spec.BundleMediaType,
		},
		Layers: []ocispec.Descriptor{plainDescriptor(bundle)},
		Annotations: map[string]string{
			ocispec.AnnotationCreated:          created.UTC().Format(time.RFC3339),
			spec.BundleContentAnnotation:       "dsse-envelope",
			spec.BundlePredicateTypeAnnotation: predicateType,
		},
		Subject: &s,
	}
	return finish(m, config)
}

func plainDescriptor(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

func finish(m ocispec.Manifest, config []byte) (Built, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return Built{}, err
	}
	return Built{
		Manifest: b,
		Descriptor: ocispec.Descriptor{
			MediaType:    ocispec.MediaTypeImageManifest,
			Digest:       digest.FromBytes(b),
			Size:         int64(len(b)),
			ArtifactType: m.ArtifactType,
		},
		Config:       config,
		ConfigDesc:   m.Config,
		ArtifactType: m.ArtifactType,
	}, nil
}

// ParseManifest parses a signature manifest and checks the bounds: at most
// spec.MaxSignatureManifestSize bytes and spec.MaxSignatureLayers layers.
func ParseManifest(b []byte) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	if len(b) > spec.MaxSignatureManifestSize {
		return m, fmt.Errorf("%w: manifest of %d bytes, at most %d", ErrTooLarge, len(b), spec.MaxSignatureManifestSize)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %v", ErrMalformedManifest, err)
	}
	if len(m.Layers) > spec.MaxSignatureLayers {
		return m, fmt.Errorf("%w: %d layers, at most %d", ErrTooLarge, len(m.Layers), spec.MaxSignatureLayers)
	}
	return m, nil
}

// Kind is how a manifest holds signatures.
type Kind int

// Kinds of signature manifests.
const (
	// KindNone: the manifest holds no cosign signature.
	KindNone Kind = iota
	// KindTag: tag-format simple-signing layers.
	KindTag
	// KindBundle: a Sigstore bundle layer.
	KindBundle
	// KindAttestationTag: tag-format attestation layers (DSSE envelopes).
	KindAttestationTag
	// KindAttestationBundle: a Sigstore bundle whose manifest announces a
	// predicate type other than cosign's image signature.
	KindAttestationBundle
)

// String returns "tag", "bundle" or "none".
func (k Kind) String() string {
	switch k {
	case KindTag:
		return "tag"
	case KindBundle:
		return "bundle"
	case KindAttestationTag:
		return "attestation-tag"
	case KindAttestationBundle:
		return "attestation-bundle"
	}
	return "none"
}

// KindOf says how m holds signatures or attestations: KindBundle when its
// artifactType is spec.BundleMediaType or a layer is a Sigstore bundle
// (KindAttestationBundle when its predicate type annotation names another
// predicate than cosign's image signature), KindTag when a layer is a
// simple-signing payload, KindAttestationTag when a layer is a DSSE
// envelope.
func KindOf(m ocispec.Manifest) Kind {
	bundle := spec.IsBundleMediaType(m.ArtifactType)
	for _, l := range m.Layers {
		switch {
		case spec.IsBundleMediaType(l.MediaType):
			bundle = true
		case l.MediaType == spec.SimpleSigningMediaType && !bundle:
			return KindTag
		case l.MediaType == DSSEMediaType && !bundle:
			return KindAttestationTag
		}
	}
	if !bundle {
		return KindNone
	}
	if pt, ok := m.Annotations[spec.BundlePredicateTypeAnnotation]; ok && pt != spec.SignPredicateType {
		return KindAttestationBundle
	}
	return KindBundle
}

// MayHoldSignatures reports whether a referrer with this artifactType may be
// a signature manifest and is worth fetching. It includes the config media
// types that registries and go-containerregistry's referrers fallback
// report for cosign's manifests when the artifactType is lost.
func MayHoldSignatures(artifactType string) bool {
	switch artifactType {
	case spec.BundleMediaType, spec.BundleV01MediaType, spec.BundleV02MediaType, spec.SignatureArtifactType, spec.EmptyConfigMediaType, spec.SignatureConfigMediaType, "":
		return true
	}
	return false
}
