package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/pull/sigverify"
)

// TestVerifyAttestationPolicy: verify --attestation --key --policy applies
// the policy to the run the attestation names, on a registry without the
// referrers API (Distribution) and one with it (go-containerregistry), in
// both storage formats: the identity not signed by the release key is denied
// by the required-signer policy (exit 3, the policy's message on stdout and
// in -o json); once signed and checked with --identity-key, it is allowed
// (exit 0).
func TestVerifyAttestationPolicy(t *testing.T) {
	key := filepath.Join(policiesDir, "keys", "release.key")
	pub := filepath.Join(policiesDir, "keys", "release.pub")
	pol := filepath.Join(policiesDir, "required_signer.rego")
	const denial = "signature: the identity has no verified signature by a trusted key"
	t.Setenv("COSIGN_PASSWORD", "runid-oci-example")
	for _, st := range stores(t)[1:] {
		for _, format := range []string{"tag", "bundle"} {
			t.Run(st.name+"/"+format, func(t *testing.T) {
				repo := "attpol/" + format
				pushExample(t, st, "rag-agent", repo, "run")
				pushExample(t, st, "minimal", repo, "artifact") // stands for what the run produced
				artifact := st.ref(repo, "artifact")
				flags := append([]string{"--key", key, "--identity", st.ref(repo, "run")}, st.flags...)
				if format == "bundle" {
					flags = append(flags, "--new-bundle-format")
				}
				mustRun(t, 0, args("attest", flags, artifact)...)

				// Denied: the identity carries no signature by the release key.
				r := mustRun(t, exitNotVerify, args("verify", st.flags, artifact, "--attestation", "--key", pub, "--policy", pol)...)
				if !strings.Contains(r.stdout, denial) || !strings.Contains(r.stdout, "FAIL") {
					t.Errorf("denied: stdout does not name the policy's message:\n%s\nstderr:\n%s", r.stdout, r.stderr)
				}
				r = mustRun(t, exitNotVerify, args("verify", append([]string{"-o", "json"}, st.flags...), artifact, "--attestation", "--key", pub, "--policy", pol)...)
				rep := decodeJSON[sigverify.AttestationReport](t, r.stdout)
				if rep.Verified != 0 || len(rep.Attestations) != 1 || !strings.Contains(rep.Attestations[0].Reason, denial) ||
					len(rep.Runs) != 1 || rep.Runs[0].Verified || rep.Runs[0].Policy == nil || rep.Runs[0].Policy.Allowed {
					b, _ := json.Marshal(rep)
					t.Errorf("denied: report %s", b)
				}

				// Allowed: the identity signed by the release key, checked with --identity-key.
				mustRun(t, 0, args("sign", st.flags, st.ref(repo, "run"), "--key", key)...)
				r = mustRun(t, 0, args("verify", append([]string{"-o", "json"}, st.flags...), artifact, "--attestation", "--key", pub,
					"--identity-key", pub, "--policy", pol)...)
				rep = decodeJSON[sigverify.AttestationReport](t, r.stdout)
				if rep.Verified != 1 || len(rep.Runs) != 1 || !rep.Runs[0].Verified || rep.Runs[0].Policy == nil || !rep.Runs[0].Policy.Allowed {
					b, _ := json.Marshal(rep)
					t.Errorf("allowed: report %s", b)
				}
			})
		}
	}
}
