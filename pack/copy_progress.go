package pack

import (
	"context"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry"
)

// progressSource is a copy's source that reports EventBlobBytes as the
// blobs it serves are read.
type progressSource struct {
	oras.ReadOnlyGraphTarget
	progress func(Event)
}

func (s progressSource) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	rc, err := s.ReadOnlyGraphTarget.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	return readCloser{counting(rc, "", desc, s.progress), rc}, nil
}

// progressLister is a progressSource whose source lists referrers itself
// (a registry): Copy finds referrers through that interface.
type progressLister struct {
	progressSource
	registry.ReferrerLister
}

// withCopyProgress returns src reporting byte progress, and sets the
// blob-level hooks of gopts, when progress is set.
func withCopyProgress(src oras.ReadOnlyGraphTarget, gopts *oras.CopyGraphOptions, progress func(Event)) oras.ReadOnlyGraphTarget {
	if progress == nil {
		return src
	}
	gopts.PreCopy = func(_ context.Context, desc ocispec.Descriptor) error {
		progress(Event{Kind: EventBlobUploading, Descriptor: desc})
		return nil
	}
	gopts.PostCopy = func(_ context.Context, desc ocispec.Descriptor) error {
		progress(Event{Kind: EventBlobUploaded, Descriptor: desc})
		return nil
	}
	gopts.OnCopySkipped = func(_ context.Context, desc ocispec.Descriptor) error {
		progress(Event{Kind: EventBlobSkipped, Descriptor: desc})
		return nil
	}
	ps := progressSource{ReadOnlyGraphTarget: src, progress: progress}
	if l, ok := src.(registry.ReferrerLister); ok {
		return progressLister{progressSource: ps, ReferrerLister: l}
	}
	return ps
}
