package pack_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
)

// A harness declares its run in memory before calling the model, pushes
// the identity, and attaches the output after. The run here is the one of
// testdata/examples/minimal/runid.yaml, so it has the same identity
// digest as that file.
func ExampleRun() {
	ctx := context.Background()

	// Declare: every core role, with its parts or explicitly none.
	var run pack.Run
	run.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]string{
		"provider": "openai", "name": "gpt-4o-mini", "version": "2024-07-18"}))
	run.Add(mediatype.RoleParameters, pack.JSON("parameters.json", map[string]any{
		"temperature": 0, "max_tokens": 256}))
	run.Add(mediatype.RoleInput, pack.JSON("input/messages.json", []map[string]string{
		{"role": "user", "content": "What is the capital of Australia?"}}))
	run.Add(mediatype.RoleRuntime, pack.JSON("runtime.json", map[string]any{
		"harness": map[string]string{"name": "curl", "version": "8.5.0"}}))
	run.None(mediatype.RoleSystemPrompt, mediatype.RoleTools, mediatype.RoleContext, mediatype.RoleConfig)

	comp, err := run.Compose(ctx, pack.BuildOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fromFile, err := pack.Digest(ctx, "../testdata/examples/minimal/runid.yaml", pack.BuildOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("identity: ", comp.Digest())
	fmt.Println("from file:", fromFile)

	// Push to any oras.Target: here an OCI image layout directory.
	dir, err := os.MkdirTemp("", "runid-compose-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := oci.New(filepath.Join(dir, "runs"))
	if err != nil {
		log.Fatal(err)
	}
	pushed, err := pack.Push(ctx, store, comp, pack.PushOptions{Tag: "capital-question"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed:   ", pushed.Descriptor.Digest)

	// ... call the model; then attach what it produced to the identity.
	answer := filepath.Join(dir, "answer.txt")
	if err := os.WriteFile(answer, []byte("Canberra\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	rec, err := referrer.Attach(ctx, store, pushed.Descriptor.Digest.String(),
		[]referrer.OutputFile{{Path: answer}}, referrer.AttachOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("output of:", rec.Subject.Digest)
	fmt.Println("outputs:  ", rec.Files[0].Annotations[mediatype.AnnotationTitle])
	// Output:
	// identity:  sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// from file: sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// pushed:    sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// output of: sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// outputs:   answer.txt
}
