// The referrers tag schema of the OCI Distribution Specification v1.1
// ("backwards compatibility"): on a registry without the referrers API,
// the referrers of a manifest whose digest is <alg>:<hex> are listed by an
// image index tagged <alg>-<hex>. oras-go maintains that index when it
// pushes a manifest with a subject and reads it when it lists referrers,
// but it treats a tag that holds something other than an index as "no
// referrers". ReadFallback tells those cases apart, so callers can say
// what is wrong instead of showing an empty listing.

package referrer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
)

// DefaultMaxFallbackSize is the default cap on an index read by ReadFallback: 4 MiB, the
// cap oras-go applies to manifests.
const DefaultMaxFallbackSize = 4 << 20

// FallbackTag returns the referrers tag of a subject digest: the digest with ":"
// replaced by "-", truncated to 128 characters as the specification says.
func FallbackTag(subject digest.Digest) (string, error) {
	if err := subject.Validate(); err != nil {
		return "", fmt.Errorf("referrers tag of %q: %w", subject, err)
	}
	tag := strings.Replace(subject.String(), ":", "-", 1)
	if len(tag) > 128 {
		tag = tag[:128]
	}
	return tag, nil
}

// ReadFallback fetches the referrers index of subject from store through the tag
// schema, reading at most maxSize bytes (DefaultMaxFallbackSize when <= 0). It
// returns the index descriptor and its manifests. A missing tag is an
// error wrapping errdef.ErrNotFound; a tag holding another media type wraps
// ErrFallbackNotIndex; undecodable bytes wrap ErrFallbackMalformed.
func ReadFallback(ctx context.Context, store oras.ReadOnlyTarget, subject digest.Digest, maxSize int64) (ocispec.Descriptor, []ocispec.Descriptor, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxFallbackSize
	}
	tag, err := FallbackTag(subject)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	desc, rc, err := oras.Fetch(ctx, store, tag, oras.DefaultFetchOptions)
	if err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("referrers tag %s: %w", tag, err)
	}
	defer rc.Close()
	if desc.MediaType != ocispec.MediaTypeImageIndex {
		return desc, nil, fmt.Errorf("referrers tag %s: %w: it holds %q (%s)", tag, ErrFallbackNotIndex, desc.MediaType, desc.Digest)
	}
	if desc.Size > maxSize {
		return desc, nil, fmt.Errorf("referrers tag %s: %w: %d bytes, cap %d", tag, ErrTooLarge, desc.Size, maxSize)
	}
	data, err := content.ReadAll(io.LimitReader(rc, maxSize+1), desc)
	if err != nil {
		return desc, nil, fmt.Errorf("referrers tag %s: %w: %v", tag, ErrFallbackMalformed, err)
	}
	var index ocispec.Index
	if err := json.Unmarshal(data, &index); err != nil {
		return desc, nil, fmt.Errorf("referrers tag %s: %w: %v", tag, ErrFallbackMalformed, err)
	}
	if index.MediaType != "" && index.MediaType != ocispec.MediaTypeImageIndex {
		return desc, nil, fmt.Errorf("referrers tag %s: %w: its mediaType member is %q", tag, ErrFallbackNotIndex, index.MediaType)
	}
	return desc, index.Manifests, nil
}
