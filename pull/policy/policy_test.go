package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull/policy"
	"github.com/runid/runid-oci/spec"
)

func compile(t *testing.T, src string, opts policy.Options) (*policy.Policy, error) {
	t.Helper()
	return policy.Compile(t.Context(), []policy.Module{{File: "test.rego", Source: []byte(src)}}, opts)
}

func mustCompile(t *testing.T, src string, opts policy.Options) *policy.Policy {
	t.Helper()
	p, err := compile(t, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ragInput is the policy input of the rag-agent example, composed in memory.
func ragInput(t *testing.T) *policy.Input {
	t.Helper()
	comp := testutil.Load(t, filepath.Join(examples, "rag-agent", "runid.yaml"))
	in, err := policy.CompositionInput(t.Context(), comp, policy.InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestCompileErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.rego")
	good := filepath.Join(dir, "good.rego")
	os.WriteFile(good, []byte("package runid\n\ndeny contains \"x\" if false\n"), 0o644)
	for _, tc := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"syntax", "package runid\n\ndeny contains msg if {\n\tmsg := \n}\n", 5, ""},
		{"rego v0 syntax", "package runid\n\ndeny[msg] {\n\tmsg := \"x\"\n}\n", 3, ""},
		{"unsafe variable", "package runid\n\ndeny contains msg if {\n\tx == 1\n\tmsg := \"m\"\n}\n", 4, "var x is unsafe"},
		{"network built-in", "package runid\n\ndeny contains msg if {\n\tr := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1/\"})\n\tmsg := r.body\n}\n", 4, "http.send"},
		{"environment built-in", "package runid\n\ndeny contains msg if {\n\tmsg := opa.runtime().env.HOME\n}\n", 4, "opa.runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(bad, []byte(tc.src), 0o644)
			_, err := policy.Load(t.Context(), []string{good, bad}, policy.Options{})
			var ce *policy.CompileError
			if !errors.As(err, &ce) || !errors.Is(err, policy.ErrCompile) {
				t.Fatalf("err = %v, want a *CompileError", err)
			}
			p := ce.Problems[0]
			if p.File != bad || p.Line != tc.line || !strings.Contains(p.Message, tc.msg) {
				t.Fatalf("problem %+v, want %s line %d containing %q", p, bad, tc.line, tc.msg)
			}
			if !strings.Contains(err.Error(), bad+":"+itoa(tc.line)+":") {
				t.Errorf("message %q does not say file:line", err)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestNoPolicy(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"other package", "package example\n\ndeny contains \"x\" if true\n"},
		{"no deny rule", "package runid\n\nallow if true\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := compile(t, tc.src, policy.Options{}); !errors.Is(err, policy.ErrNoPolicy) {
				t.Fatalf("err = %v, want ErrNoPolicy", err)
			}
		})
	}
	if _, err := policy.Load(t.Context(), []string{t.TempDir()}, policy.Options{}); !errors.Is(err, policy.ErrNoPolicy) {
		t.Fatalf("empty directory: err = %v, want ErrNoPolicy", err)
	}
	if _, err := policy.Load(t.Context(), []string{"/dev/null"}, policy.Options{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("device: err = %v, want a refusal", err)
	}
}

// TestEvaluationErrorsDeny: every way an evaluation can fail is a denial
// that says so, never an allow.
func TestEvaluationErrorsDeny(t *testing.T) {
	in := ragInput(t)
	for _, tc := range []struct {
		name, src, want string
		timeout         time.Duration
	}{
		{"built-in error", "package runid\n\ndeny contains \"x\" if to_number(\"not a number\") > 1\n", "to_number", 0},
		{"deny is not a set", "package runid\n\ndeny := true\n", "not a set of messages", 0},
		{"conflicting values", "package runid\n\nlimit := 1 if true\nlimit := 2 if true\ndeny contains \"x\" if limit > 5\n", "conflict", 0},
		{"loop stopped by the time bound", "package runid\n\ndeny contains \"x\" if {\n\tsome i in numbers.range(1, 1000000000000)\n\ti < 0\n}\n", "time bound of 100ms", 100 * time.Millisecond},
		{"quadratic walk stopped", "package runid\n\ndeny contains \"x\" if {\n\tsome a in numbers.range(1, 100000000)\n\tsome b in numbers.range(1, 100000000)\n\ta == b + 1000000000\n}\n", "time bound", 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustCompile(t, tc.src, policy.Options{Timeout: tc.timeout})
			start := time.Now()
			d := p.Evaluate(t.Context(), in)
			took := time.Since(start)
			if d.Allowed || d.Error == "" || !strings.Contains(d.Error, tc.want) {
				t.Fatalf("decision %+v, want a denial with an error containing %q", d, tc.want)
			}
			if len(d.Deny) != 1 || !strings.HasPrefix(d.Deny[0], "denied: the policy could not be evaluated") {
				t.Errorf("deny %q does not say the policy could not be evaluated", d.Deny)
			}
			err := d.Err()
			if !errors.Is(err, policy.ErrDenied) || !errors.Is(err, policy.ErrEvaluation) {
				t.Errorf("Err() = %v, want ErrDenied and ErrEvaluation", err)
			}
			if tc.timeout > 0 && took > 20*tc.timeout {
				t.Errorf("a policy bounded by %s ran %s", tc.timeout, took)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		p := mustCompile(t, "package runid\n\ndeny contains \"x\" if false\n", policy.Options{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if d := p.Evaluate(ctx, in); d.Allowed {
			t.Fatalf("allowed with a cancelled context: %+v", d)
		}
	})
	t.Run("nil input", func(t *testing.T) {
		p := mustCompile(t, "package runid\n\ndeny contains \"x\" if false\n", policy.Options{})
		if d := p.Evaluate(t.Context(), nil); d.Allowed {
			t.Fatal("allowed a nil input")
		}
	})
}

// TestMissingField: a reference to a field the input does not have is
// undefined, so the rule that reads it does not fire. A policy that
// requires a field denies when it is absent (with not); both behaviours
// are what Rego specifies, and what docs/policy.md describes.
func TestMissingField(t *testing.T) {
	in := ragInput(t) // an identity: no output member
	lenient := mustCompile(t, "package runid\n\ndeny contains \"failed\" if input.output.execution.status == \"failed\"\n", policy.Options{})
	if d := lenient.Evaluate(t.Context(), in); !d.Allowed {
		t.Fatalf("a rule over a missing field fired: %+v", d)
	}
	strict := mustCompile(t, "package runid\n\ndeny contains \"no succeeded execution\" if not input.output.execution.status == \"succeeded\"\n", policy.Options{})
	if d := strict.Evaluate(t.Context(), in); d.Allowed || d.Deny[0] != "no succeeded execution" {
		t.Fatalf("a policy requiring a missing field allowed: %+v", d)
	}
}

// TestWithheldContent: the content of a withheld component never reaches a
// policy. A policy that inspects it finds it undefined; written to require
// it, it denies.
func TestWithheldContent(t *testing.T) {
	run := new(pack.Run).
		Add(mediatype.RoleModel, pack.JSON("model.json", map[string]any{"provider": "openai", "name": "gpt-4o"})).
		Add(mediatype.RoleSystemPrompt, pack.Text("system-prompt.md", "You are a careful assistant. secret-word").Withhold()).
		Add(mediatype.RoleInput, pack.Text("input.txt", "hello")).
		None(mediatype.RoleParameters, mediatype.RoleTools, mediatype.RoleContext, mediatype.RoleConfig, mediatype.RoleRuntime)
	comp, err := run.Compose(t.Context(), pack.BuildOptions{WithholdSecret: withholdSecret})
	if err != nil {
		t.Fatal(err)
	}
	in, err := policy.CompositionInput(t.Context(), comp, policy.InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := in.Identity.Roles[mediatype.RoleSystemPrompt].Components[0]
	if !c.Withheld || c.Content != nil || c.ContentOmitted != policy.OmittedWithheld || c.Format != "" {
		t.Fatalf("withheld component in the input: %+v", c)
	}
	if b, _ := json.Marshal(in); strings.Contains(string(b), "secret-word") {
		t.Fatal("the withheld content is in the input")
	}
	lenient := mustCompile(t, `package runid

deny contains "prompt mentions a secret" if {
	some c in input.identity.roles["system-prompt"].components
	contains(c.content, "secret-word")
}
`, policy.Options{})
	if d := lenient.Evaluate(t.Context(), in); !d.Allowed {
		t.Fatalf("a rule over withheld content fired: %+v", d)
	}
	strict := mustCompile(t, `package runid

deny contains msg if {
	some c in input.identity.roles["system-prompt"].components
	not prompt_reviewed(c)
	msg := sprintf("%s cannot be reviewed (%s)", [c.name, object.get(c, "contentOmitted", "")])
}

prompt_reviewed(c) if {
	is_string(c.content)
	not contains(c.content, "secret-word")
}
`, policy.Options{})
	d := strict.Evaluate(t.Context(), in)
	if d.Allowed || d.Deny[0] != "system-prompt.md cannot be reviewed (withheld)" {
		t.Fatalf("decision %+v, want the withheld prompt denied", d)
	}
}

// TestContentBounds: large, over-budget, binary, unparsable and
// alias-bomb content is left out with its reason; what is left in is
// parsed.
func TestContentBounds(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	run := new(pack.Run).
		Add(mediatype.RoleModel, pack.JSON("model.json", map[string]any{"provider": "openai", "name": "gpt-4o", "n": 12345678901234567890.0})).
		Add(mediatype.RoleParameters, pack.JSON("parameters.json", nil)).
		Add(mediatype.RoleSystemPrompt, pack.Text("prompt.md", strings.Repeat("p", 70<<10))).
		Add(mediatype.RoleContext,
			pack.Text("context/a.md", strings.Repeat("a", 60<<10)),
			pack.Text("context/b.md", strings.Repeat("b", 60<<10)),
			pack.Binary("context/c.bin", []byte{0, 1, 2}),
		).
		Add(mediatype.RoleInput, pack.Text("input.txt", "hello")).
		Add(mediatype.RoleConfig, pack.YAML("config/bomb.yaml", []byte(bomb)), pack.YAML("config/ok.yaml", []byte("retries: 3\nname: agent\nratio: 0.5\n"))).
		None(mediatype.RoleTools, mediatype.RoleRuntime)
	comp, err := run.Compose(t.Context(), pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := policy.CompositionInput(t.Context(), comp, policy.InputOptions{MaxTotalContent: 100 << 10})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]policy.Component{}
	for _, r := range in.Identity.Roles {
		for _, c := range r.Components {
			got[c.Name] = c
		}
	}
	for name, want := range map[string]string{
		"prompt.md":        policy.OmittedTooLarge,   // 70 KiB > 64 KiB
		"context/a.md":     "",                       // 60 KiB of the 100 KiB budget
		"context/b.md":     policy.OmittedOverBudget, // 60 KiB more does not fit
		"context/c.bin":    policy.OmittedBinary,
		"config/bomb.yaml": policy.OmittedTooLarge, // 10^6 values
		"config/ok.yaml":   "",
		"parameters.json":  "",
	} {
		if c := got[name]; c.ContentOmitted != want {
			t.Errorf("%s: contentOmitted %q, want %q", name, c.ContentOmitted, want)
		}
	}
	if cfg, ok := got["config/ok.yaml"].Content.(map[string]any); !ok || cfg["retries"] != json.Number("3") || cfg["ratio"] != json.Number("0.5") {
		t.Errorf("yaml content %#v, want parsed values", got["config/ok.yaml"].Content)
	}
	p := mustCompile(t, `package runid

deny contains "null parameters" if input.identity.roles.parameters.components[0].content == null
deny contains sprintf("retries %v", [c.content.retries]) if {
	some c in input.identity.roles.config.components
	c.content.retries > 2
}
`, policy.Options{})
	d := p.Evaluate(t.Context(), in)
	if want := []string{"null parameters", "retries 3"}; strings.Join(d.Deny, "|") != strings.Join(want, "|") {
		t.Errorf("deny %q, want %q", d.Deny, want)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.ValidateJSON("policy-input.schema.json", b); err != nil {
		t.Errorf("input does not validate against the schema: %v", err)
	}
}

// TestHugeIdentity: an identity of 5,000 components (each within the
// content bound) builds an input of bounded content and evaluates.
func TestHugeIdentity(t *testing.T) {
	run := new(pack.Run).
		Add(mediatype.RoleModel, pack.JSON("model.json", map[string]any{"provider": "openai", "name": "gpt-4o"})).
		Add(mediatype.RoleInput, pack.Text("input.txt", "hello")).
		None(mediatype.RoleParameters, mediatype.RoleSystemPrompt, mediatype.RoleTools, mediatype.RoleConfig, mediatype.RoleRuntime)
	var docs []pack.Part
	for i := range 5000 {
		docs = append(docs, pack.Text("context/"+itoa(i)+".md", strings.Repeat("x", 1024)+itoa(i)))
	}
	run.Add(mediatype.RoleContext, docs...)
	comp, err := run.Compose(t.Context(), pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := policy.CompositionInput(t.Context(), comp, policy.InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var with, over int
	var bytes int64
	for _, c := range in.Identity.Roles[mediatype.RoleContext].Components {
		switch c.ContentOmitted {
		case "":
			with++
			bytes += c.Size
		case policy.OmittedOverBudget:
			over++
		}
	}
	if with == 0 || over == 0 || with+over != 5000 || bytes > policy.DefaultMaxTotalContent {
		t.Fatalf("%d components with content (%d bytes), %d over budget", with, bytes, over)
	}
	p := mustCompile(t, "package runid\n\ndeny contains \"too many documents\" if count(input.identity.roles.context.components) > 1000\n", policy.Options{})
	if d := p.Evaluate(t.Context(), in); d.Allowed || d.Error != "" {
		t.Fatalf("decision %+v, want the count rule to deny", d)
	}
}

// TestInputSchema: the inputs of the examples, as identities and as an
// output record, validate against spec/schema/policy-input.schema.json,
// and the schema rejects what the section forbids.
func TestInputSchema(t *testing.T) {
	for _, name := range []string{"rag-agent", "local-weights", "minimal", "extension-role"} {
		comp := testutil.Load(t, filepath.Join(examples, name, "runid.yaml"))
		in, err := policy.CompositionInput(t.Context(), comp, policy.InputOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(in)
		if err := spec.ValidateJSON("policy-input.schema.json", b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	in := ragInput(t)
	for name, mutate := range map[string]func(m map[string]any){
		"no version":       func(m map[string]any) { delete(m, "version") },
		"unknown member":   func(m map[string]any) { m["extra"] = true },
		"output missing":   func(m map[string]any) { m["kind"] = "output-record" },
		"bad signature":    func(m map[string]any) { m["signatures"] = []any{map[string]any{"keyId": "x"}} },
		"content and omit": func(m map[string]any) { comp(m, "model")["contentOmitted"] = "too-large" },
		"withheld content": func(m map[string]any) { comp(m, "model")["withheld"] = true },
	} {
		b, _ := json.Marshal(in)
		var m map[string]any
		json.Unmarshal(b, &m)
		mutate(m)
		b, _ = json.Marshal(m)
		if err := spec.ValidateJSON("policy-input.schema.json", b); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}

func comp(m map[string]any, role string) map[string]any {
	return m["identity"].(map[string]any)["roles"].(map[string]any)[role].(map[string]any)["components"].([]any)[0].(map[string]any)
}
