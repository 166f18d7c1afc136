package referrer

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/runid/runid-oci/pack"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/spec"
)

// Manifest media types that a link's subject may have: OCI image manifests
// and indexes, and their Docker schema 2 equivalents (container images).
const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// IdentityRef names the identity a link points to.
type IdentityRef struct {
	// Reference is a tag or a digest of the identity in
	// LinkOptions.IdentityStore. A tag is resolved: the link records the
	// digest.
	Reference string
	// Repository is where the identity can be fetched, recorded in the
	// link as given: a repository such as "registry.example/runs" (no tag
	// or digest), or the path of an OCI image layout.
	Repository string
}

// LinkOptions configure Link. The zero value is valid.
type LinkOptions struct {
	// IdentityStore is where the identity is read, to resolve it and check
	// that it exists and is a run identity. Set it when the identity lives
	// in another repository or registry than the artifact.
	// Default: the artifact's target.
	IdentityStore oras.ReadOnlyTarget
	// MaxMetadataSize caps the manifests and identity document read.
	// Default: spec.DefaultMaxMetadataSize.
	MaxMetadataSize int64
	// Index configures the check that the artifact lists the link.
	Index IndexOptions
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

// LinkResult reports a pushed link.
type LinkResult struct {
	// Descriptor is the link manifest's descriptor, with its artifactType
	// and annotations.
	Descriptor ocispec.Descriptor
	// Subject is the linked artifact's manifest descriptor.
	Subject ocispec.Descriptor
	// Identity is the identity the link names.
	Identity spec.LinkedIdentity
	// Link is the link as pushed.
	Link *spec.Link
	// IndexAttempts is how many times the link manifest was pushed until
	// the artifact's referrers listed it.
	IndexAttempts int
}

// Link attaches to the artifact that artifactRef (a tag or digest) names in
// target a link naming the run identity that produced it, which may live
// in another repository or registry (spec/SPEC.md §8.2).
//
// The artifact must exist and be a manifest or an index (ErrNotFound
// otherwise). The identity is read from opts.IdentityStore (default:
// target) by identity.Reference and must be a well-formed run identity
// whose layer blobs exist, as for Attach: a missing identity fails with
// ErrNotFound, a manifest that is not an identity with ErrNotIdentity.
// The link records the identity's digest and identity.Repository, which
// is not checked against IdentityStore.
//
// A link has no creation time: linking the same artifact to the same
// identity again pushes the same manifest and changes nothing.
func Link(ctx context.Context, target oras.Target, artifactRef string, identity IdentityRef, opts LinkOptions) (LinkResult, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var res LinkResult
	// Check what is recorded before reading anything.
	if err := spec.ValidateLinkedIdentity(spec.LinkedIdentity{Digest: digest.FromString(""), Repository: identity.Repository}); err != nil {
		return res, fmt.Errorf("link: %w", err)
	}
	subject, _, err := fetchSubjectManifest(ctx, target, artifactRef, opts.MaxMetadataSize)
	if err != nil {
		return res, fmt.Errorf("link %s: artifact: %w", artifactRef, err)
	}
	switch subject.MediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex, mediaTypeDockerManifest, mediaTypeDockerManifestList:
	default:
		return res, fmt.Errorf("link %s: %w: the artifact has media type %q, not a manifest or an index", artifactRef, spec.ErrInvalidLink, subject.MediaType)
	}
	res.Subject = subject
	store := opts.IdentityStore
	if store == nil {
		store = target
	}
	idDesc, err := checkSubjectIdentity(ctx, store, identity.Reference, opts.MaxMetadataSize, pack.DefaultPushConcurrency)
	if err != nil {
		return res, fmt.Errorf("link: identity %s: %w", identity.Reference, err)
	}
	id := spec.LinkedIdentity{Digest: idDesc.Digest, Repository: identity.Repository}
	res.Identity = id
	l, err := spec.BuildLink(subject, id)
	if err != nil {
		return res, fmt.Errorf("link: %w", err)
	}
	res.Link = l
	blobs := []pack.Blob{
		pack.BytesBlob("", l.Manifest.Config, l.DocumentBytes),
		pack.BytesBlob("", spec.EmptyLayer(), ocispec.DescriptorEmptyJSON.Data),
	}
	if _, err := pack.PushBlobs(ctx, target, blobs, pack.PushBlobsOptions{Logger: opts.Logger}); err != nil {
		return res, fmt.Errorf("link: %w", err)
	}
	desc := l.Descriptor()
	res.Descriptor = desc
	attempts, err := PushManifest(ctx, target, subject, desc, l.ManifestBytes, opts.Index, opts.Logger)
	res.IndexAttempts = attempts
	if err != nil {
		return res, fmt.Errorf("link: %w", err)
	}
	opts.Logger.Debug("linked", "link", desc.Digest, "artifact", subject.Digest, "identity", id)
	return res, nil
}
