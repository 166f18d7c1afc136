package pull_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/policy"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

const policyDir = "../testdata/policies"

// TestVerifyPolicy verifies the rag-agent example with every example
// policy, on a layout and on a registry: signed with the example release
// key it is allowed; unsigned it verifies in content but the policy
// denies it, which is a failed "policy" check (does not verify).
func TestVerifyPolicy(t *testing.T) {
	ctx := t.Context()
	pol, err := policy.Load(ctx, []string{policyDir}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	release, err := sign.LoadPrivateKey(testutil.ReadFile(t, filepath.Join(policyDir, "keys", "release.key")), []byte("runid-oci-example"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sigverify.LoadPublicKeyFile(filepath.Join(policyDir, "keys", "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(t *testing.T) oras.Target{
		"layout":   func(t *testing.T) oras.Target { s, _ := testutil.NewLayout(t); return s },
		"registry": func(t *testing.T) oras.Target { return testregistry.Repository(t, testregistry.StartGGCR(t), "runs") },
	} {
		t.Run(name, func(t *testing.T) {
			target := open(t)
			testutil.Push(t, target, testutil.Load(t, "../testdata/examples/rag-agent/runid.yaml"), "rag")

			rep, err := pull.Verify(ctx, target, "rag", pull.VerifyOptions{Policy: pol})
			if !errors.Is(err, pull.ErrVerification) || rep == nil || rep.Verified {
				t.Fatalf("unsigned: err = %v, want a verification failure", err)
			}
			var failed []pull.Check
			for _, c := range rep.Checks {
				if !c.OK {
					failed = append(failed, c)
				}
			}
			if len(failed) != 1 || failed[0].Check != "policy" || !strings.Contains(failed[0].Message, "no verified signature by a trusted key") {
				t.Fatalf("failed checks %+v, want the signer policy alone", failed)
			}
			b, _ := json.Marshal(rep)
			if !strings.Contains(string(b), `"policy":{"allowed":false,"deny":["signature: the identity has no verified signature by a trusted key"]`) {
				t.Errorf("JSON report has no policy section: %s", b)
			}

			if _, err := sign.Sign(ctx, target, "rag", release, sign.SignOptions{}); err != nil {
				t.Fatal(err)
			}
			rep, err = pull.Verify(ctx, target, "rag", pull.VerifyOptions{Policy: pol, Signatures: sigverify.Verifier{Key: pub}})
			if err != nil || !rep.Verified || rep.Policy == nil || !rep.Policy.Allowed {
				t.Fatalf("signed: err = %v, policy %+v", err, rep.Policy)
			}
			// Signatures that do not verify with the key given never reach
			// the policy: verifying with another key denies.
			rep, err = pull.Verify(ctx, target, "rag", pull.VerifyOptions{Policy: pol, Signatures: sigverify.Verifier{Key: testutil.Key(t)}})
			if err == nil || rep.Policy != nil {
				t.Fatalf("other key: err = %v, policy %+v: want the signature check to fail and the policy not evaluated", err, rep.Policy)
			}
		})
	}
}

// TestVerifyPolicyOutputRecord evaluates a policy on an output record: the
// chain is verified, then the policy reads the execution facts and the
// identity behind the record.
func TestVerifyPolicyOutputRecord(t *testing.T) {
	ctx := t.Context()
	pol, err := policy.Compile(ctx, []policy.Module{{File: "outputs.rego", Source: []byte(`package runid

deny contains sprintf("execution %s: status %s", [input.output.execution.instanceId, input.output.execution.status]) if {
	input.kind == "output-record"
	input.output.execution.status != "succeeded"
}

deny contains "an output record must name its identity as subject" if {
	input.kind == "output-record"
	input.output.subject.digest != input.identity.digest
}

deny contains sprintf("model %s", [c.content.name]) if {
	some c in input.identity.roles.model.components
	c.content.name != "gpt-4o"
}
`)}}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := testutil.NewLayout(t)
	testutil.Push(t, s, testutil.Load(t, "../testdata/examples/rag-agent/runid.yaml"), "rag")
	for _, tc := range []struct {
		status string
		deny   string
	}{
		{spec.StatusSucceeded, ""},
		{spec.StatusFailed, "execution run-failed: status failed"},
	} {
		res, err := referrer.Attach(ctx, s, "rag", []referrer.OutputFile{{Name: "answer.txt", Data: []byte("42")}},
			referrer.AttachOptions{Execution: map[string]any{spec.FactStatus: tc.status, spec.FactInstanceID: "run-" + tc.status}})
		if err != nil {
			t.Fatal(err)
		}
		ref := res.Descriptor.Digest.String()
		rep, err := pull.Verify(ctx, s, ref, pull.VerifyOptions{Policy: pol})
		if rep == nil || rep.Policy == nil {
			t.Fatalf("%s: err = %v, no policy decision", tc.status, err)
		}
		switch {
		case tc.deny == "" && (err != nil || !rep.Policy.Allowed):
			t.Errorf("%s: err = %v, decision %+v", tc.status, err, rep.Policy)
		case tc.deny != "" && (!errors.Is(err, pull.ErrVerification) || strings.Join(rep.Policy.Deny, "|") != tc.deny):
			t.Errorf("%s: err = %v, deny %q, want %q", tc.status, err, rep.Policy.Deny, tc.deny)
		}

		in, err := pull.PolicyInput(ctx, s, ref, pull.PolicyInputOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if in.Kind != policy.KindOutputRecord || in.Output.Execution[spec.FactStatus] != tc.status || in.Output.Files[0].Name != "answer.txt" {
			t.Errorf("policy input of the record: %+v", in.Output)
		}
		b, _ := json.Marshal(in)
		if err := spec.ValidateJSON("policy-input.schema.json", b); err != nil {
			t.Errorf("record input does not validate: %v", err)
		}
	}
}
