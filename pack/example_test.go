package pack_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack"
)

// Load a declaration, print its identity digest, and push it to an OCI
// image layout directory: the pushed manifest has that same digest.
func ExamplePush() {
	ctx := context.Background()
	comp, err := pack.Load(ctx, "../testdata/examples/minimal/runid.yaml", pack.BuildOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("identity:", comp.Digest())

	dir, err := os.MkdirTemp("", "runid-layout-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := oci.New(dir)
	if err != nil {
		log.Fatal(err)
	}
	res, err := pack.Push(ctx, store, comp, pack.PushOptions{Tag: "minimal"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed:  ", res.Descriptor.Digest)
	fmt.Println("blobs uploaded:", res.BlobsUploaded)
	// Output:
	// identity: sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// pushed:   sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// blobs uploaded: 5
}

// Digest computes the identity digest of a declaration without any store
// or network.
func ExampleDigest() {
	d, err := pack.Digest(context.Background(), "../testdata/examples/rag-agent/runid.yaml", pack.BuildOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d)
	// Output:
	// sha256:af89bf31896ec7e0290c4d2525954a38a2a66bb9bae49855a6a161c949babee6
}
