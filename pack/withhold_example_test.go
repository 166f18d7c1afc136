package pack_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// A withheld component is represented by a commitment; its reveal opens
// the commitment on exactly its content, for one auditor.
func ExampleBuild_withheld() {
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
	// In real use: pack.ReadWithholdSecret("withhold.secret").
	secret := bytes.Repeat([]byte{0x5a}, spec.MinWithholdSecretSize)
	c, err := pack.Build(context.Background(), decl, "", pack.BuildOptions{WithholdSecret: secret})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, comp := range c.Components {
		fmt.Println(comp.Name, comp.MediaType)
	}
	fmt.Println("system-prompt is", c.Identity.Document.Roles[mediatype.RoleSystemPrompt])

	rv := c.Reveals[0]
	rc, _ := c.Components[1].Open() // the commitment document, as pushed
	var commitment bytes.Buffer
	commitment.ReadFrom(rc)
	fmt.Println("reveal opens it:", spec.CheckReveal(commitment.Bytes(), rv, strings.NewReader("You are terse.")) == nil)
	fmt.Println("and nothing else:", spec.CheckReveal(commitment.Bytes(), rv, strings.NewReader("You are kind.")) == nil)
	// Output:
	// model.json application/vnd.runid.model.v1+json
	// system-prompt/agent.txt application/vnd.runid.withheld.v1+json
	// input/q.txt application/vnd.runid.input.v1.text
	// system-prompt is withheld
	// reveal opens it: true
	// and nothing else: false
}
