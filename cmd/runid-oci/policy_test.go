package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/clitools"
)

var policiesDir = filepath.Join("..", "..", "testdata", "policies")

// TestVerifyPolicyCLI: verify --policy on every store: the rag-agent
// example signed with the example release key is allowed (exit 0, a policy
// section in -o json); unsigned, the signer policy denies it (exit 3, the
// message on stdout); a policy that does not compile is refused (exit 1,
// file and line).
func TestVerifyPolicyCLI(t *testing.T) {
	key := filepath.Join(policiesDir, "keys", "release.key")
	pub := filepath.Join(policiesDir, "keys", "release.pub")
	t.Setenv("COSIGN_PASSWORD", "runid-oci-example")
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			pushExample(t, st, "rag-agent", "runs", "rag")
			ref := st.ref("runs", "rag")

			r := mustRun(t, 3, args("verify", st.flags, ref, "--policy", policiesDir)...)
			if !strings.Contains(r.stdout, "FAIL  policy") || !strings.Contains(r.stdout, "signature: the identity has no verified signature by a trusted key") {
				t.Errorf("text output does not show the denial:\n%s", r.stdout)
			}
			r = mustRun(t, 3, args("-o", append([]string{"json", "verify"}, st.flags...), ref, "--policy", policiesDir)...)
			var rep struct {
				Verified bool `json:"verified"`
				Policy   struct {
					Allowed  bool     `json:"allowed"`
					Deny     []string `json:"deny"`
					Policies []string `json:"policies"`
				} `json:"policy"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Verified || rep.Policy.Allowed || len(rep.Policy.Deny) != 1 || len(rep.Policy.Policies) != 7 {
				t.Errorf("json policy section %+v", rep.Policy)
			}

			mustRun(t, 0, args("sign", st.flags, ref, "--key", key)...)
			r = mustRun(t, 0, args("-o", append([]string{"json", "verify"}, st.flags...), ref, "--key", pub,
				"--policy", filepath.Join(policiesDir, "required_signer.rego"), "--policy", filepath.Join(policiesDir, "tools_pinned.rego"))...)
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.Verified || !rep.Policy.Allowed || len(rep.Policy.Policies) != 2 {
				t.Errorf("signed: %v %+v", err, rep)
			}
		})
	}
	t.Run("does not compile", func(t *testing.T) {
		st := stores(t)[0]
		pushExample(t, st, "minimal", "runs", "m")
		bad := filepath.Join(t.TempDir(), "bad.rego")
		os.WriteFile(bad, []byte("package runid\n\ndeny contains msg if {\n\tmsg := input.x +\n}\n"), 0o644)
		r := mustRun(t, 1, args("verify", st.flags, st.ref("runs", "m"), "--policy", bad)...)
		if !strings.Contains(r.stderr, bad+":5:") && !strings.Contains(r.stderr, bad+":4:") {
			t.Errorf("stderr does not name file and line:\n%s", r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("stdout %q: nothing is verified with a policy that does not compile", r.stdout)
		}
	})
}

// TestPolicyInputOPA: the input that inspect --policy-input writes is one
// that the real opa CLI (the pinned version, the engine's own) evaluates
// the example policies on with the same result as verify --policy, and
// opa test passes the example policies' unit tests.
func TestPolicyInputOPA(t *testing.T) {
	opa := clitools.OPA(t)
	st := stores(t)[0]
	dir := t.TempDir()

	r := mustTool(t, 0, "", opa, "test", policiesDir)
	if !strings.Contains(r.stdout, "PASS:") {
		t.Errorf("opa test: %s", r.stdout)
	}
	for _, tc := range []struct{ example, want string }{
		{"rag-agent", `["signature: the identity has no verified signature by a trusted key"]`},
		{"local-weights", ""},
	} {
		pushExample(t, st, tc.example, "runs", tc.example)
		ref := st.ref("runs", tc.example)
		in := mustRun(t, 0, args("inspect", st.flags, ref, "--policy-input")...)
		inputFile := filepath.Join(dir, tc.example+".json")
		os.WriteFile(inputFile, []byte(in.stdout), 0o644)

		ev := mustTool(t, 0, "", opa, "eval", "--format", "raw", "-d", policiesDir, "-i", inputFile, "data.runid.deny")
		var fromOPA []string
		if err := json.Unmarshal([]byte(ev.stdout), &fromOPA); err != nil {
			t.Fatalf("opa eval output %q: %v", ev.stdout, err)
		}
		slices.Sort(fromOPA)

		v := runCLI(t, args("-o", append([]string{"json", "verify"}, st.flags...), ref, "--policy", policiesDir)...)
		var rep struct {
			Policy struct {
				Deny []string `json:"deny"`
			} `json:"policy"`
		}
		if err := json.Unmarshal([]byte(v.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(fromOPA, rep.Policy.Deny) {
			t.Errorf("%s: opa eval denies %q, verify --policy %q", tc.example, fromOPA, rep.Policy.Deny)
		}
		if tc.want != "" {
			b, _ := json.Marshal(fromOPA)
			if string(b) != tc.want {
				t.Errorf("%s: deny %s, want %s", tc.example, b, tc.want)
			}
		} else if len(fromOPA) < 3 {
			t.Errorf("%s: %q; the local-weights example breaks several example policies", tc.example, fromOPA)
		}
	}
}
