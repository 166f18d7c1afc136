package pull_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// An auditor given the file and its reveal proves that the file is exactly
// the withheld system prompt of an identity, without the owner's secret.
func ExampleVerifyReveal() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "runid-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// The owner packs and pushes a run whose system prompt is withheld.
	decl, err := spec.ParseDeclaration("runid.yaml", []byte(`runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: none
  system-prompt: [{name: system-prompt/agent.txt, text: "You are terse.", withheld: true}]
  tools: none
  context: none
  input: [{name: input/q.txt, text: "Hello"}]
  config: none
  runtime: none
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	secret := bytes.Repeat([]byte{0x5a}, spec.MinWithholdSecretSize)
	c, err := pack.Build(ctx, decl, "", pack.BuildOptions{WithholdSecret: secret})
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := oci.NewWithContext(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := pack.Push(ctx, store, c, pack.PushOptions{Tag: "v1"}); err != nil {
		fmt.Println(err)
		return
	}

	// The auditor receives the file and c.Reveals[0] (a reveal file).
	reveal := c.Reveals[0]
	rep, err := pull.VerifyReveal(ctx, store, "v1", reveal, strings.NewReader("You are terse."), pull.RevealOptions{})
	fmt.Println("the file is the component:", err == nil && rep.Verified)

	_, err = pull.VerifyReveal(ctx, store, "v1", reveal, strings.NewReader("You are kind."), pull.RevealOptions{})
	fmt.Println("another file:", err != nil)
	// Output:
	// the file is the component: true
	// another file: true
}
