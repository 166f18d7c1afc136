package pack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"

	"github.com/runid/runid-oci/spec"
)

// DefaultMaxReferrers is how many referrer manifests Copy carries at most
// by default.
const DefaultMaxReferrers = 10000

// CopyOptions configure Copy. The zero value is valid.
type CopyOptions struct {
	// Concurrency is how many blobs are copied at once.
	// Default: oras-go's (3).
	Concurrency int
	// MaxReferrers caps the referrer manifests carried (the whole graph of
	// referrers of referrers). Default: DefaultMaxReferrers.
	MaxReferrers int
	// Progress, if set, receives an event as each blob and manifest starts
	// and ends (EventBlobUploading, EventBlobUploaded, EventBlobSkipped;
	// Name is empty) and EventBlobBytes as its bytes are read from src. It
	// may be called from several goroutines at once.
	Progress func(Event)
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

// CopyResult reports a copy.
type CopyResult struct {
	// Descriptor is the copied manifest (an identity, or any manifest).
	Descriptor ocispec.Descriptor `json:"descriptor"`
	// Tag is the tag set in the destination, if any.
	Tag string `json:"tag,omitempty"`
	// Referrers are the referrer manifests copied with it: signatures,
	// output records, links, and their own referrers.
	Referrers []ocispec.Descriptor `json:"referrers"`
	// SignatureTags are the cosign signature tags ("sha256-<hex>.sig")
	// copied, of the manifest and of its referrers.
	SignatureTags []string `json:"signatureTags"`
}

// Copy copies the manifest that srcRef names in src to dst with
// everything that refers to it, so that it verifies and can be discovered
// at the destination as at the source:
//
//   - its referrers, recursively (signatures in either format, output
//     records, links, and their signatures), found through the source's
//     referrers API, its tag-schema fallback or an OCI layout's index, and
//     written so that the destination lists them (through its referrers
//     API, or the tag-schema fallback when it has none);
//   - cosign's signature tags ("sha256-<hex>.sig") of the manifest and of
//     every referrer, which referrer-aware tools do not carry.
//
// dstRef tags the copy in dst; when empty, a tag srcRef is reused and a
// digest srcRef sets no tag. Blobs already in dst are not copied again.
// Content is checked against its digest as it is written.
func Copy(ctx context.Context, src oras.ReadOnlyGraphTarget, srcRef string, dst oras.Target, dstRef string, opts CopyOptions) (CopyResult, error) {
	if opts.MaxReferrers <= 0 {
		opts.MaxReferrers = DefaultMaxReferrers
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	root, err := src.Resolve(ctx, srcRef)
	if err != nil {
		return CopyResult{}, fmt.Errorf("copy %q: %w: resolve: %w", srcRef, ErrCopy, err)
	}
	root = ocispec.Descriptor{MediaType: root.MediaType, Digest: root.Digest, Size: root.Size}
	if dstRef == "" && !strings.Contains(srcRef, ":") {
		dstRef = srcRef
	}
	res := CopyResult{Descriptor: root, Referrers: []ocispec.Descriptor{}, SignatureTags: []string{}}

	var mu sync.Mutex
	seen := map[string]bool{root.Digest.String(): true}
	errTooMany := fmt.Errorf("%w: more than %d referrers", ErrTooManyReferrers, opts.MaxReferrers)
	gopts := oras.ExtendedCopyGraphOptions{
		FindPredecessors: func(ctx context.Context, s content.ReadOnlyGraphStorage, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			var preds []ocispec.Descriptor
			var err error
			if _, ok := s.(registry.ReferrerLister); ok {
				preds, err = s.Predecessors(ctx, desc)
			} else {
				// A layout's graph also lists the indexes that hold desc
				// (nested indexes of index.json): only manifests whose
				// subject desc is are its referrers.
				preds, err = registry.Referrers(ctx, s, desc, "")
			}
			if err != nil {
				return nil, err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range preds {
				if seen[p.Digest.String()] {
					continue
				}
				seen[p.Digest.String()] = true
				res.Referrers = append(res.Referrers, ocispec.Descriptor{MediaType: p.MediaType, ArtifactType: p.ArtifactType, Digest: p.Digest, Size: p.Size})
				if len(res.Referrers) > opts.MaxReferrers {
					return nil, errTooMany
				}
			}
			return preds, nil
		},
	}
	if opts.Concurrency > 0 {
		gopts.Concurrency = opts.Concurrency
	}
	graphSrc := withCopyProgress(src, &gopts.CopyGraphOptions, opts.Progress)
	if err := oras.ExtendedCopyGraph(ctx, graphSrc, dst, root, gopts); err != nil {
		if errors.Is(err, ErrTooManyReferrers) {
			return CopyResult{}, fmt.Errorf("copy %q: %w", srcRef, err)
		}
		return CopyResult{}, fmt.Errorf("copy %q: %w: %w", srcRef, ErrCopy, err)
	}
	if dstRef != "" {
		if err := dst.Tag(ctx, root, dstRef); err != nil {
			return CopyResult{}, fmt.Errorf("copy %q: %w: tag %s: %w", srcRef, ErrCopy, dstRef, err)
		}
		res.Tag = dstRef
	}
	opts.Logger.Debug("copied graph", "digest", root.Digest, "referrers", len(res.Referrers))

	// cosign's signature tags, of the manifest and of each referrer.
	for _, d := range append([]ocispec.Descriptor{root}, res.Referrers...) {
		tag, err := spec.SignatureTag(d.Digest)
		if err != nil {
			continue
		}
		if _, err := src.Resolve(ctx, tag); err != nil {
			if errors.Is(err, errdef.ErrNotFound) {
				continue
			}
			return CopyResult{}, fmt.Errorf("copy %q: %w: resolve %s: %w", srcRef, ErrCopy, tag, err)
		}
		if _, err := oras.Copy(ctx, src, tag, dst, tag, oras.CopyOptions{CopyGraphOptions: gopts.CopyGraphOptions}); err != nil {
			return CopyResult{}, fmt.Errorf("copy %q: %w: signature tag %s: %w", srcRef, ErrCopy, tag, err)
		}
		res.SignatureTags = append(res.SignatureTags, tag)
		opts.Logger.Debug("copied signature tag", "tag", tag)
	}
	slices.SortFunc(res.Referrers, func(a, b ocispec.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
	return res, nil
}
