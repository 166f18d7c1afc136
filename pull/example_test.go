package pull_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

// Push the minimal example to an OCI image layout, then verify it: the
// manifest digest is computed from the bytes read, every structural rule
// is checked, every blob is fetched and hashed, and the declaration is
// rebuilt from its files and must give the same digest.
func ExampleVerify() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "runid-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	store, err := oci.New(filepath.Join(dir, "layout"))
	if err != nil {
		panic(err)
	}
	decl := "../testdata/examples/minimal/runid.yaml"
	comp, err := pack.Load(ctx, decl, pack.BuildOptions{})
	if err != nil {
		panic(err)
	}
	if _, err := pack.Push(ctx, store, comp, pack.PushOptions{Tag: "v1"}); err != nil {
		panic(err)
	}

	rep, err := pull.Verify(ctx, store, "v1", pull.VerifyOptions{Declaration: decl})
	if err != nil {
		panic(err)
	}
	fmt.Println("verified:", rep.Verified)
	fmt.Println("identity:", rep.Digest)
	failed := 0
	for _, c := range rep.Checks {
		if !c.OK {
			failed++
		}
	}
	fmt.Printf("%d checks, %d failed\n", len(rep.Checks), failed)
	// Output:
	// verified: true
	// identity: sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// 11 checks, 0 failed
}

// Pull the minimal example into a directory: each component is written at
// its logical name once the whole identity has verified.
func ExamplePull() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "runid-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	store, err := oci.New(filepath.Join(dir, "layout"))
	if err != nil {
		panic(err)
	}
	comp, err := pack.Load(ctx, "../testdata/examples/minimal/runid.yaml", pack.BuildOptions{})
	if err != nil {
		panic(err)
	}
	if _, err := pack.Push(ctx, store, comp, pack.PushOptions{Tag: "v1"}); err != nil {
		panic(err)
	}

	out := filepath.Join(dir, "out")
	rep, err := pull.Pull(ctx, store, "v1", out, pull.PullOptions{Options: pull.Options{
		Progress: func(e pull.Event) {
			if e.Kind == pull.EventFileWritten {
				fmt.Println("wrote", e.Name)
			}
		},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println("identity:", rep.Digest)
	b, err := os.ReadFile(filepath.Join(out, "input", "messages.json"))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// wrote model.json
	// wrote parameters.json
	// wrote input/messages.json
	// wrote runtime.json
	// identity: sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// [{"content":"What is the capital of Australia?","role":"user"}]
}
