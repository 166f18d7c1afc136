package referrer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/spec"
)

// exampleLayout pushes the minimal example identity (tag "run") to a new
// OCI layout in dir.
func exampleLayout(ctx context.Context, dir string) *oci.Store {
	store, err := oci.New(filepath.Join(dir, "layout"))
	if err != nil {
		panic(err)
	}
	c, err := pack.Load(ctx, "../../testdata/examples/minimal/runid.yaml", pack.BuildOptions{})
	if err != nil {
		panic(err)
	}
	if _, err := pack.Push(ctx, store, c, pack.PushOptions{Tag: "run"}); err != nil {
		panic(err)
	}
	return store
}

func ExampleAttach() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "runid-attach")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store := exampleLayout(ctx, dir)

	// The run wrote one file; attach it with the facts of this execution.
	answer := filepath.Join(dir, "answer.md")
	if err := os.WriteFile(answer, []byte("Canberra.\n"), 0o644); err != nil {
		panic(err)
	}
	res, err := referrer.Attach(ctx, store, "run", []referrer.OutputFile{{Path: answer, MediaType: "text/markdown"}}, referrer.AttachOptions{
		Execution: map[string]any{
			spec.FactInstanceID: "run-0001",
			spec.FactStartedAt:  "2025-03-01T10:00:00Z",
			spec.FactEndedAt:    "2025-03-01T10:00:02Z",
			spec.FactStatus:     spec.StatusSucceeded,
			spec.FactExitCode:   0,
		},
		Created: time.Date(2025, 3, 1, 10, 0, 2, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("identity:", res.Subject.Digest)
	fmt.Println("record:  ", res.Descriptor.Digest, res.Descriptor.ArtifactType)
	for _, f := range res.Files {
		fmt.Println("file:    ", f.Annotations[ocispec.AnnotationTitle], f.Digest)
	}
	// Output:
	// identity: sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// record:   sha256:a26a8ce6b1456c904bf78a6e11bc092d9cd30ba88d1e39ce709c2179f7c66e1d application/vnd.runid.output.v1
	// file:     answer.md sha256:b8512c99b8e69251eeb5e6e10b0a795660b575e28171c4b21912714c64c537ce
}

func ExampleLink() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "runid-link")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	runs := exampleLayout(ctx, dir)

	// An artifact the run produced, in another layout: here a small OCI
	// artifact made with oras-go.
	images, err := oci.New(filepath.Join(dir, "images"))
	if err != nil {
		panic(err)
	}
	image, err := oras.PackManifest(ctx, images, oras.PackManifestVersion1_1, "application/vnd.example.model", oras.PackManifestOptions{
		ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2025-03-01T10:05:00Z"},
	})
	if err != nil {
		panic(err)
	}

	res, err := referrer.Link(ctx, images, image.Digest.String(),
		referrer.IdentityRef{Reference: "run", Repository: "registry.example/runs"},
		referrer.LinkOptions{IdentityStore: runs})
	if err != nil {
		panic(err)
	}
	fmt.Println("artifact:", res.Subject.Digest)
	fmt.Println("link:    ", res.Descriptor.Digest, res.Descriptor.ArtifactType)
	fmt.Println("names:   ", res.Identity)
	// Output:
	// artifact: sha256:4f4528e73c74508f98c948924ab811157a3905f0686f2db9fb6744f5f8e7b297
	// link:     sha256:6fded9f65f0f4801668eba7ff44a4cc9db66eb311adf73feb45ef3d70175496f application/vnd.runid.link.v1
	// names:    registry.example/runs@sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
}
