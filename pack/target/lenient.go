package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// lenientLayout reads an OCI image layout directory as a registry serves
// one: the claims of index.json as they are, blob files by name without
// checking them (the reader verifies what it fetches), and referrers by
// the subject of each manifest index.json lists. oras-go's layout store
// refuses to open a layout whose index.json misstates a manifest's digest
// or size, or lists a manifest that does not decode; read-only commands
// fall back to this reader so that a verifier reports what is wrong
// (spec/SPEC.md §6.2) instead of failing to look.
type lenientLayout struct {
	dir   string
	index []ocispec.Descriptor
}

func openLenientLayout(dir string) (*lenientLayout, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	return &lenientLayout{dir: dir, index: idx.Manifests}, nil
}

func (s *lenientLayout) path(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("%s: %w", d, errdef.ErrNotFound)
	}
	return filepath.Join(s.dir, "blobs", string(d.Algorithm()), d.Encoded()), nil
}

func (s *lenientLayout) Fetch(_ context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	p, err := s.path(desc.Digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", desc.Digest, errdef.ErrNotFound)
	}
	return f, err
}

func (s *lenientLayout) Exists(_ context.Context, desc ocispec.Descriptor) (bool, error) {
	p, err := s.path(desc.Digest)
	if err != nil {
		return false, nil
	}
	_, err = os.Stat(p)
	return err == nil, nil
}

// Resolve finds a tag, or a digest, in index.json; a digest that is not
// listed resolves to its blob file, as a registry resolves any manifest
// it holds.
func (s *lenientLayout) Resolve(_ context.Context, ref string) (ocispec.Descriptor, error) {
	for _, d := range s.index {
		if d.Annotations[ocispec.AnnotationRefName] == ref || (strings.Contains(ref, ":") && d.Digest.String() == ref) {
			return d, nil
		}
	}
	if d, err := digest.Parse(ref); err == nil {
		p, err := s.path(d)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		if st, err := os.Stat(p); err == nil {
			return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: st.Size()}, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("%s: %w", ref, errdef.ErrNotFound)
}

// Predecessors lists the manifests of index.json whose subject is node.
func (s *lenientLayout) Predecessors(ctx context.Context, node ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	var out []ocispec.Descriptor
	for _, d := range s.index {
		rc, err := s.Fetch(ctx, d)
		if err != nil {
			continue
		}
		var m struct {
			ArtifactType string              `json:"artifactType"`
			Subject      *ocispec.Descriptor `json:"subject"`
		}
		err = json.NewDecoder(io.LimitReader(rc, 4<<20)).Decode(&m)
		rc.Close()
		if err == nil && m.Subject != nil && m.Subject.Digest == node.Digest {
			d.Annotations, d.ArtifactType = nil, m.ArtifactType
			out = append(out, d)
		}
	}
	return out, nil
}
