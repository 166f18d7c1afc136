package target_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/target"
)

// A harness opens a registry repository as the CLI does, declares its
// run, pushes the identity, and attaches the output once the run is over.
// The registry here is an in-process one over plain HTTP; for a private
// registry, set Options.CAFile (or Insecure), CertFile and KeyFile, and
// Username and Password, or let the Docker credential store (the one
// "runid-oci login" and "docker login" write) supply the credential.
func ExampleOpen() {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	tgt, err := target.Open(ctx, host+"/runs:capital-question", false, target.Options{PlainHTTP: true})
	if err != nil {
		log.Fatal(err)
	}
	store, err := tgt.Writable()
	if err != nil {
		log.Fatal(err)
	}

	// Declare the run (the one of testdata/examples/minimal/runid.yaml).
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
	pushed, err := pack.Push(ctx, store, comp, pack.PushOptions{Tag: tgt.Reference})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed:", strings.TrimPrefix(tgt.String(), host+"/"), pushed.Descriptor.Digest)

	// ... run the model; then attach what it wrote.
	dir, err := os.MkdirTemp("", "runid-target-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
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
	// Output:
	// pushed: runs:capital-question sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	// output of: sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
}
