package referrer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/runid/runid-oci/pack"
)

// ReferrerTagInfix joins a subject's tag-schema tag and the start of a
// referrer's digest in the tag a writer gives each referrer it pushes to
// a registry without the referrers API ("sha256-<subject hex>.ref-<32 hex
// of the referrer>"): a record of the referrer that no other writer's
// index update can drop, from which any writer puts lost entries back
// into the index (spec/SPEC.md §8.4).
const ReferrerTagInfix = ".ref-"

// referrerTagHex is how many hex digits of the referrer's digest its tag
// carries (128 bits).
const referrerTagHex = 32

// maxIndexRepairs bounds the index rewrites of one push.
const maxIndexRepairs = 50

// referrerTag returns the tag of referrer ref of subject, or false when
// the subject's tag-schema tag leaves no room (over 128 characters).
func referrerTag(subject, ref digest.Digest) (string, bool) {
	base, err := FallbackTag(subject)
	if err != nil || len(ref.Encoded()) < referrerTagHex {
		return "", false
	}
	tag := base + ReferrerTagInfix + ref.Encoded()[:referrerTagHex]
	return tag, len(tag) <= 128 && len(base) < 128
}

// tagSchemaIndex keeps a subject's tag-schema index complete on a
// registry without the referrers API.
type tagSchemaIndex struct {
	repo    *remote.Repository
	subject ocispec.Descriptor
	logger  *slog.Logger
	repairs int
}

// tag gives the referrer desc its referrer tag.
func (ix *tagSchemaIndex) tag(ctx context.Context, desc ocispec.Descriptor, manifest []byte) error {
	tag, ok := referrerTag(ix.subject.Digest, desc.Digest)
	if !ok {
		return nil
	}
	err := ix.repo.PushReference(ctx, desc, bytes.NewReader(manifest), tag)
	var re *remote.ReferrersError
	if err != nil && !(errors.As(err, &re) && re.IsReferrersIndexDelete()) {
		return fmt.Errorf("tag referrer %s as %s: %w: %w", desc.Digest, tag, pack.ErrPush, err)
	}
	return nil
}

// tagged lists the subject's referrer tags. It reads the tag list from the
// subject's index tag on (registries list tags in lexical order after the
// "last" parameter) and stops past them.
func (ix *tagSchemaIndex) tagged(ctx context.Context) ([]string, error) {
	base, err := FallbackTag(ix.subject.Digest)
	if err != nil {
		return nil, err
	}
	prefix := base + ReferrerTagInfix
	// The listing starts after the subject's index tag, which sorts just
	// before its referrer tags. It must be a tag that exists: Distribution
	// skips the first tag at or after a "last" that is not a tag, so
	// starting after the bare prefix would lose the first referrer tag.
	// Without the index tag (another writer is replacing it), the whole
	// list is read.
	last := base
	if _, err := ix.repo.Resolve(ctx, base); err != nil {
		last = ""
	}
	var out []string
	err = ix.repo.Tags(ctx, last, func(tags []string) error {
		for _, t := range tags {
			if strings.HasPrefix(t, prefix) {
				out = append(out, t)
			} else if t > prefix {
				return errStopListing
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopListing) {
		return nil, fmt.Errorf("list referrer tags of %s: %w", ix.subject.Digest, err)
	}
	return out, nil
}

// repair puts back into the subject's index every tagged referrer that is
// missing from it, and reports whether it rewrote the index.
func (ix *tagSchemaIndex) repair(ctx context.Context) (bool, error) {
	tags, err := ix.tagged(ctx)
	if err != nil || len(tags) == 0 {
		return false, err
	}
	old, listed, err := ReadFallback(ctx, ix.repo, ix.subject.Digest, 0)
	if err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return false, fmt.Errorf("read the referrers index of %s: %w", ix.subject.Digest, err)
	}
	have := make(map[digest.Digest]bool, len(listed))
	for _, d := range listed {
		have[d.Digest] = true
	}
	var add []ocispec.Descriptor
	for _, tag := range tags {
		d, err := ix.repo.Resolve(ctx, tag)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("resolve referrer tag %s: %w", tag, err)
		}
		if have[d.Digest] {
			continue
		}
		desc, ok, err := ix.describe(ctx, d)
		if err != nil {
			return false, err
		}
		if ok {
			have[d.Digest] = true
			add = append(add, desc)
		}
	}
	if len(add) == 0 {
		return false, nil
	}
	if ix.repairs++; ix.repairs > maxIndexRepairs {
		return false, fmt.Errorf("%w: the referrers index of %s keeps losing entries after %d rewrites", ErrReferrersIndex, ix.subject.Digest, maxIndexRepairs)
	}
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: append(listed, add...),
	}
	b, err := json.Marshal(index)
	if err != nil {
		return false, err
	}
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, b)
	tag, _ := FallbackTag(ix.subject.Digest)
	if err := ix.repo.PushReference(ctx, desc, bytes.NewReader(b), tag); err != nil {
		return false, fmt.Errorf("rewrite the referrers index of %s: %w: %w", ix.subject.Digest, pack.ErrPush, err)
	}
	ix.logger.Info("referrers index lacked referrers that another writer had listed; put them back", "subject", ix.subject.Digest, "restored", len(add))
	if old.Digest != "" && old.Digest != desc.Digest {
		if err := ix.repo.Delete(ctx, old); err != nil && !errors.Is(err, errdef.ErrNotFound) {
			ix.logger.Debug("superseded referrers index not deleted", "digest", old.Digest, "error", err)
		}
	}
	return true, nil
}

// describe returns a referrer's descriptor as a referrers listing gives
// it, or false when the manifest's subject is not ours.
func (ix *tagSchemaIndex) describe(ctx context.Context, d ocispec.Descriptor) (ocispec.Descriptor, bool, error) {
	if d.Size > DefaultMaxFallbackSize {
		return ocispec.Descriptor{}, false, nil
	}
	b, err := content.FetchAll(ctx, ix.repo, d)
	if err != nil {
		return ocispec.Descriptor{}, false, fmt.Errorf("read referrer %s: %w", d.Digest, err)
	}
	var m struct {
		ArtifactType string              `json:"artifactType"`
		Config       *ocispec.Descriptor `json:"config"`
		Subject      *ocispec.Descriptor `json:"subject"`
		Annotations  map[string]string   `json:"annotations"`
	}
	if json.Unmarshal(b, &m) != nil || m.Subject == nil || m.Subject.Digest != ix.subject.Digest {
		return ocispec.Descriptor{}, false, nil
	}
	out := ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if out.ArtifactType == "" && m.Config != nil {
		out.ArtifactType = m.Config.MediaType
	}
	return out, true, nil
}
