package pull

import (
	"context"
	"fmt"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/spec"
)

// planDeclaration checks, before anything is fetched, that the
// declaration can be written at name: a valid local name, no component's
// file, nothing there unless overwrite.
func planDeclaration(root *os.Root, id *Identity, name string, overwrite bool) error {
	k := collisionKey(name)
	for _, c := range id.Document.Components {
		if collisionKey(c.Name) == k {
			return fmt.Errorf("write declaration %q: %w: it is the component %q", name, ErrUnsafePath, c.Name)
		}
	}
	exists, err := checkPath(root, name)
	if err != nil {
		return fmt.Errorf("write declaration: %w", err)
	}
	if exists && !overwrite {
		return fmt.Errorf("write declaration %q: %w (pass Overwrite to replace it)", name, ErrExists)
	}
	return nil
}

// declaration writes the declaration of id to a temporary file and returns
// its placement at name. The disclosed media types of withheld components
// come from their commitment documents, verified again here.
func (x *extraction) declaration(ctx context.Context, src oras.ReadOnlyTarget, id *Identity, name string, opts Options) (placement, error) {
	withheld := map[string]string{}
	for i, c := range id.Document.Components {
		if !c.Withheld() {
			continue
		}
		_, cm, err := fetchCommitment(ctx, src, id.Manifest.Layers[i], c.Name, opts)
		if err != nil {
			return placement{}, fmt.Errorf("write declaration: %w", err)
		}
		withheld[c.Name] = cm.MediaType
	}
	data, err := spec.RebuildDeclaration(id.Document, withheld)
	if err != nil {
		return placement{}, fmt.Errorf("write declaration: %w", err)
	}
	desc := ocispec.Descriptor{MediaType: "application/yaml", Digest: digest.FromBytes(data), Size: int64(len(data))}
	x.mu.Lock()
	_, have := x.temps[desc.Digest]
	x.mu.Unlock()
	if !have {
		f, tmp, err := x.createTemp()
		if err != nil {
			return placement{}, fmt.Errorf("write declaration: %w", err)
		}
		_, err = f.Write(data)
		if err == nil && x.sync {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return placement{}, fmt.Errorf("write declaration: %w", err)
		}
		x.mu.Lock()
		x.temps[desc.Digest] = tmp
		x.mu.Unlock()
	}
	return placement{name: name, desc: desc}, nil
}
