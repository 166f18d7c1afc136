package spec

import (
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The manifests of identities, output records and links share their
// frame: an OCI image manifest of a runid artifactType whose config is a
// runid document. These build and check that frame.

// problemList collects the problems a check finds.
type problemList []Problem

// addFunc records a problem: its check, subject and formatted message.
type addFunc func(check, subject, format string, a ...any)

// add records a problem; its method value is the addFunc the checks take.
func (l *problemList) add(check, subject, format string, a ...any) {
	*l = append(*l, Problem{Check: check, Subject: subject, Msg: fmt.Sprintf(format, a...)})
}

// newManifest is an OCI image manifest of artifactType with the given
// layers whose config is the document docBytes of media type configType.
func newManifest(artifactType, configType string, docBytes []byte, layers []ocispec.Descriptor) ocispec.Manifest {
	return ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config: ocispec.Descriptor{
			MediaType: configType,
			Digest:    digest.FromBytes(docBytes),
			Size:      int64(len(docBytes)),
		},
		Layers: layers,
	}
}

// parseManifestHeader decodes a manifest and checks what every runid
// referrer shares: OCI image manifest, schema version 2, the artifactType
// and config media type of its kind, a sha256 config digest. ok is false
// when the bytes are not a manifest at all.
func parseManifestHeader(manifestBytes []byte, artifactType, configType, what string, add addFunc) (ocispec.Manifest, bool) {
	var m ocispec.Manifest
	if err := checkJSONText(manifestBytes); err != nil {
		add("manifest-json", "", "%v", err)
		return m, false
	}
	if err := json.Unmarshal(manifestBytes, &m); err != nil {
		add("manifest-json", "", "%v", err)
		return m, false
	}
	checkManifestHeader(m, artifactType, configType, what, add)
	return m, true
}

// checkManifestHeader is the check of parseManifestHeader on a decoded
// manifest.
func checkManifestHeader(m ocispec.Manifest, artifactType, configType, what string, add addFunc) {
	if m.MediaType != ocispec.MediaTypeImageManifest {
		add("manifest-media-type", "", "media type %q, want %q", m.MediaType, ocispec.MediaTypeImageManifest)
	}
	if m.SchemaVersion != 2 {
		add("manifest-schema-version", "", "schemaVersion %d, want 2", m.SchemaVersion)
	}
	if m.ArtifactType != artifactType {
		add("artifact-type", "", "artifactType %q, want %q: not %s", m.ArtifactType, artifactType, what)
	}
	if m.Config.MediaType != configType {
		add("config-media-type", "", "config media type %q, want %q", m.Config.MediaType, configType)
	}
	if m.Config.Digest.Validate() != nil || m.Config.Digest.Algorithm() != digest.SHA256 {
		add("config-digest", "", "config digest %q is not a valid sha256 digest", m.Config.Digest)
	}
}

func checkConfigBytes(m ocispec.Manifest, documentBytes []byte, add addFunc) {
	if digest.FromBytes(documentBytes) != m.Config.Digest || int64(len(documentBytes)) != m.Config.Size {
		add("config-digest", "", "document bytes do not match the config descriptor")
	}
}

// Artifact is what identities, output records and links share: the
// manifest, the exact bytes of the manifest and of its config document, and
// a reader's warnings (such as members of a newer minor spec version that
// were ignored).
type Artifact struct {
	Manifest      ocispec.Manifest
	ManifestBytes []byte
	DocumentBytes []byte
	Warnings      []string
}

// Digest is the digest of the manifest bytes; for an identity, the identity
// digest.
func (a *Artifact) Digest() digest.Digest { return digest.FromBytes(a.ManifestBytes) }

// Descriptor is the descriptor of the manifest, with its artifactType and
// manifest annotations, as a referrers listing shows it.
func (a *Artifact) Descriptor() ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: a.Manifest.ArtifactType,
		Digest:       a.Digest(),
		Size:         int64(len(a.ManifestBytes)),
		Annotations:  a.Manifest.Annotations,
	}
}
