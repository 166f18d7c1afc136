package policy_test

import (
	"context"
	"fmt"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull/policy"
)

// A harness composes the run it is about to execute, evaluates its
// policies on the composition, and calls the model only when they allow
// it. Policies are compiled once, when the harness starts.
func Example() {
	ctx := context.Background()
	pol, err := policy.Load(ctx, []string{
		"../../testdata/policies/model_allowlist.rego",
		"../../testdata/policies/parameter_bounds.rego",
	}, policy.Options{})
	if err != nil {
		fmt.Println(err) // a policy that does not compile names its file and line
		return
	}

	for _, temperature := range []float64{0.2, 1.5} {
		run := new(pack.Run).
			Add(mediatype.RoleModel, pack.JSON("model.json", map[string]any{"provider": "openai", "name": "gpt-4o-mini", "version": "2024-07-18"})).
			Add(mediatype.RoleParameters, pack.JSON("parameters.json", map[string]any{"temperature": temperature, "max_tokens": 256})).
			Add(mediatype.RoleInput, pack.JSON("input/messages.json", []any{map[string]any{"role": "user", "content": "Hello"}})).
			None(mediatype.RoleSystemPrompt, mediatype.RoleTools, mediatype.RoleContext, mediatype.RoleConfig, mediatype.RoleRuntime)
		comp, err := run.Compose(ctx, pack.BuildOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		in, err := policy.CompositionInput(ctx, comp, policy.InputOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := pol.Evaluate(ctx, in).Err(); err != nil {
			fmt.Printf("temperature %v: not calling the model: %v\n", temperature, err)
			continue
		}
		fmt.Printf("temperature %v: allowed, calling the model\n", temperature)
	}
	// Output:
	// temperature 0.2: allowed, calling the model
	// temperature 1.5: not calling the model: denied by policy: parameters: temperature 1.5 is outside [0, 1]
}
