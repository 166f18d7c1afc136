package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/policy"
	"github.com/runid/runid-oci/pull/sigverify"
)

const (
	examples = "../../testdata/examples"
	policies = "../../testdata/policies"
)

// variant copies the example directory name into a temporary directory,
// applies each old→new replacement to the file it names (relative to the
// example), and returns the path of the copy's runid.yaml.
func variant(t *testing.T, name string, edits ...edit) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(examples, name))); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		p := filepath.Join(dst, e.file)
		b := testutil.ReadFile(t, p)
		if !strings.Contains(string(b), e.old) {
			t.Fatalf("variant of %s: %s does not contain %q", name, e.file, e.old)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), e.old, e.new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dst, "runid.yaml")
}

type edit struct{ file, old, new string }

// withholdSecret is a fixed withhold secret for the variants that withhold
// a component.
var withholdSecret = []byte("policy-test-withhold-secret-0123456789abcdef")

// store is where a test's identities are pushed and read back.
type store struct {
	name   string
	target func(t *testing.T) oras.Target
}

var stores = []store{
	{"layout", func(t *testing.T) oras.Target { s, _ := testutil.NewLayout(t); return s }},
	{"registry", func(t *testing.T) oras.Target {
		return testregistry.Repository(t, testregistry.StartDistribution(t), "runs")
	}},
}

// inputOf builds the declaration, pushes it to target, reads the identity
// back as a verifier does (pull.Verify) and builds its policy input from the
// store.
func inputOf(t *testing.T, target oras.Target, declaration string, opts policy.InputOptions) (*policy.Input, *pull.Report) {
	t.Helper()
	ctx := t.Context()
	comp, err := pack.Load(ctx, declaration, pack.BuildOptions{WithholdSecret: withholdSecret})
	if err != nil {
		t.Fatalf("load %s: %v", declaration, err)
	}
	testutil.Push(t, target, comp, "run")
	rep, err := pull.Verify(ctx, target, "run", pull.VerifyOptions{})
	if err != nil {
		t.Fatalf("verify %s: %v", declaration, err)
	}
	opts.Reference = "run"
	in, err := policy.NewInput(ctx, target, rep.Identity.Identity, opts)
	if err != nil {
		t.Fatalf("policy input: %v", err)
	}
	return in, rep
}

func load(t *testing.T, files ...string) *policy.Policy {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(policies, f)
	}
	p, err := policy.Load(context.Background(), paths, policy.Options{})
	if err != nil {
		t.Fatalf("load %v: %v", files, err)
	}
	return p
}

// TestExamplePolicies evaluates each example policy on identities built
// from testdata/examples and variations of them, pushed to an OCI layout
// and to a registry and read back, and checks which it allows and which
// it denies, with which message.
func TestExamplePolicies(t *testing.T) {
	rag := func(t *testing.T) string { return filepath.Join(examples, "rag-agent", "runid.yaml") }
	local := func(t *testing.T) string { return filepath.Join(examples, "local-weights", "runid.yaml") }
	minimal := func(t *testing.T) string { return filepath.Join(examples, "minimal", "runid.yaml") }
	ragWith := func(edits ...edit) func(t *testing.T) string {
		return func(t *testing.T) string { return variant(t, "rag-agent", edits...) }
	}
	cases := []struct {
		policy string
		name   string
		decl   func(t *testing.T) string
		deny   string // a substring of the one denial expected; "" = allowed
	}{
		{"model_allowlist.rego", "rag-agent", rag, ""},
		{"model_allowlist.rego", "local weights by digest", local, ""},
		{"model_allowlist.rego", "minimal", minimal, ""},
		{"model_allowlist.rego", "other version", ragWith(edit{"runid.yaml", `version: "2024-08-06"`, `version: "2024-05-13"`}),
			"model: openai/gpt-4o version 2024-05-13 is not on the allow-list"},
		{"model_allowlist.rego", "other weights", func(t *testing.T) string {
			return variant(t, "local-weights", edit{"runid.yaml", "sha256:ea02c05a", "sha256:ea02c05b"})
		}, "model: (no provider)/llama-3.1-8b-instruct version (none) is not on the allow-list"},
		{"model_allowlist.rego", "withheld model", ragWith(edit{"runid.yaml", "  model:\n    provider: openai\n    name: gpt-4o\n    version: \"2024-08-06\"\n    fingerprint: fp_45cf54deae\n",
			"  model:\n    - name: model.json\n      withheld: true\n      inline: { provider: openai, name: gpt-4o, version: \"2024-08-06\" }\n"}),
			`model: "model.json" is withheld`},

		{"parameter_bounds.rego", "rag-agent", rag, ""},
		{"parameter_bounds.rego", "local weights", local, ""},
		{"parameter_bounds.rego", "hot", ragWith(edit{"runid.yaml", "temperature: 0.2", "temperature: 1.7"}),
			"parameters: temperature 1.7 is outside [0, 1]"},
		{"parameter_bounds.rego", "long", ragWith(edit{"runid.yaml", "max_tokens: 800", "max_tokens: 80000"}),
			"parameters: max_tokens 80000 is outside [1, 4096]"},

		{"tools_pinned.rego", "rag-agent", rag, ""},
		{"tools_pinned.rego", "no tools", minimal, ""},
		{"tools_pinned.rego", "unpinned tool", local, `tools: "tools/calculator.json"`},
		{"tools_pinned.rego", "one byte changed", ragWith(edit{"tools/create_ticket.json", "Open a support ticket", "Open a support ticket!"}),
			`tools: "tools/create_ticket.json" (sha256:`},
		{"tools_pinned.rego", "reformatted", ragWith(edit{"tools/create_ticket.json", "{\n", "{\n\n   "}), ""},

		{"system_prompt_approved.rego", "rag-agent", rag, ""},
		{"system_prompt_approved.rego", "other prompt", local, `system-prompt: "system-prompt.txt" (sha256:`},
		{"system_prompt_approved.rego", "no prompt", minimal, "system-prompt: the run declares no system prompt"},
		{"system_prompt_approved.rego", "trailing space", ragWith(edit{"prompts/system.md", "\n", " \n"}), "is not an approved system prompt"},

		{"system_prompt_disclosed.rego", "rag-agent", rag, ""},
		{"system_prompt_disclosed.rego", "withheld", ragWith(edit{"runid.yaml", "file: prompts/system.md", "file: prompts/system.md\n      withheld: true"}),
			`system-prompt: "system-prompt/support-agent.md" is withheld; the system prompt must be disclosed`},

		{"runtime_image.rego", "rag-agent", rag, ""},
		{"runtime_image.rego", "no container", local, "runtime: the run declares no container image"},
		{"runtime_image.rego", "other image", ragWith(edit{"runid.yaml", "@sha256:2579efdb", "@sha256:2579efdc"}), "is not a released image"},
		{"runtime_image.rego", "tag only", ragWith(edit{"runid.yaml", "support-agent@sha256:2579efdb974ace24f888022f7fc49ae4e427132804c057c7dc3dd0aad7d37d7c", "support-agent:1.8.2"}),
			`runtime: container image "registry.example.com/support-agent:1.8.2" is not a released image`},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			target := st.target(t)
			compiled := map[string]*policy.Policy{}
			for _, c := range cases {
				t.Run(strings.TrimSuffix(c.policy, ".rego")+"/"+c.name, func(t *testing.T) {
					p := compiled[c.policy]
					if p == nil {
						p = load(t, c.policy)
						compiled[c.policy] = p
					}
					in, _ := inputOf(t, target, c.decl(t), policy.InputOptions{})
					d := p.Evaluate(t.Context(), in)
					if d.Error != "" {
						t.Fatalf("evaluation error: %s", d.Error)
					}
					switch {
					case c.deny == "" && !d.Allowed:
						t.Fatalf("denied, want allowed: %q", d.Deny)
					case c.deny != "" && d.Allowed:
						t.Fatalf("allowed, want denied with %q", c.deny)
					case c.deny != "" && (len(d.Deny) != 1 || !strings.Contains(d.Deny[0], c.deny)):
						t.Fatalf("denials %q, want one containing %q", d.Deny, c.deny)
					}
					if c.deny != "" && !strings.Contains(d.Err().Error(), c.deny) {
						t.Errorf("Err() = %v, does not name the denial", d.Err())
					}
				})
			}
		})
	}
}

// TestAllExamplePoliciesOnRagAgent loads the whole directory: the rag-agent
// example is allowed by every policy but the required signer.
func TestAllExamplePoliciesOnRagAgent(t *testing.T) {
	p, err := policy.Load(t.Context(), []string{policies}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Files()); got != 7 {
		t.Errorf("loaded %d files (%q), want the 7 policies without their tests", got, p.Files())
	}
	s, _ := testutil.NewLayout(t)
	in, _ := inputOf(t, s, filepath.Join(examples, "rag-agent", "runid.yaml"), policy.InputOptions{})
	d := p.Evaluate(t.Context(), in)
	want := "signature: the identity has no verified signature by a trusted key"
	if d.Allowed || len(d.Deny) != 1 || d.Deny[0] != want {
		t.Fatalf("decision %+v, want exactly %q", d, want)
	}
}

// TestRequiredSigner signs the rag-agent identity with the example release
// key (testdata/policies/keys), and with another key, verifies the
// signatures with pull.VerifySignatures, and passes the verified ones to
// the policy.
func TestRequiredSigner(t *testing.T) {
	ctx := t.Context()
	p := load(t, "required_signer.rego")
	release, err := sign.LoadPrivateKey(testutil.ReadFile(t, filepath.Join(policies, "keys", "release.key")), []byte("runid-oci-example"))
	if err != nil {
		t.Fatal(err)
	}
	releasePub, err := sigverify.LoadPublicKeyFile(filepath.Join(policies, "keys", "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	other := testutil.Key(t)

	for _, tc := range []struct {
		name    string
		signers []sign.SignatureFormat
		signer  any
		allowed bool
	}{
		{"release key, tag format", []sign.SignatureFormat{sign.SignatureFormatTag}, release, true},
		{"release key, bundle format", []sign.SignatureFormat{sign.SignatureFormatBundle}, release, true},
		{"other key", []sign.SignatureFormat{sign.SignatureFormatTag}, other, false},
		{"unsigned", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := testutil.NewLayout(t)
			in, rep := inputOf(t, s, filepath.Join(examples, "rag-agent", "runid.yaml"), policy.InputOptions{})
			for _, f := range tc.signers {
				sv := release
				if tc.signer != any(release) {
					sv = other
				}
				if _, err := sign.Sign(ctx, s, "run", sv, sign.SignOptions{Format: f}); err != nil {
					t.Fatal(err)
				}
			}
			// The verifier checks with the key it trusts; only signatures
			// that verify reach the policy.
			sr, err := sigverify.VerifySignatures(ctx, s, rep.Identity.Descriptor, releasePub, sigverify.Options{})
			if err == nil {
				for _, sc := range sr.Signatures {
					if sc.Verified {
						in.Signatures = append(in.Signatures, policy.Signature{KeyID: sr.KeyID, Format: sc.Format, Signed: policy.KindIdentity, Digest: sr.Subject})
					}
				}
			}
			d := p.Evaluate(ctx, in)
			if d.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v (%q; signatures %+v)", d.Allowed, tc.allowed, d.Deny, in.Signatures)
			}
		})
	}
}
