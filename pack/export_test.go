package pack

import (
	"context"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
)

// PushSinglePOSTForTest sends sent in one POST under the digest and size of
// hashed, as Push does for a small blob.
func PushSinglePOSTForTest(ctx context.Context, repo *remote.Repository, sent, hashed []byte) error {
	desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(hashed), Size: int64(len(hashed))}
	if len(sent) != len(hashed) {
		sent = append(sent[:0:0], sent...)
	}
	_, err := newMonolithic(repo).push(ctx, desc, sent)
	return err
}
