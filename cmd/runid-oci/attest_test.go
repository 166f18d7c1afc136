package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// TestAttestCommand: attest an artifact with both predicate types and both
// storage formats, with an output record; verify --attestation accepts them,
// and not with another key.
func TestAttestCommand(t *testing.T) {
	priv, pub := newCLIKey(t)
	_, otherPub := cliKey(t, "other")
	t.Setenv("COSIGN_PASSWORD", cliKeyPassword)
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			comp := pushExample(t, st, "minimal", "att", "v1")
			pushExample(t, st, "rag-agent", "att", "artifact") // stands for any artifact the run produced
			files := outputFiles(t, []string{"answer.md"}, map[string]string{"answer.md": "Canberra.\n"})
			rec := strings.TrimSpace(mustRun(t, 0, args("attach", st.flags, st.ref("att", "v1"), files[0],
				"--instance-id", "run-9", "--started-at", "2025-03-01T10:00:00Z", "--ended-at", "2025-03-01T10:00:02Z")...).stdout)
			artifact := st.ref("att", "artifact")
			for _, tc := range []struct{ predicate, format string }{{"run", "tag"}, {"slsa", "bundle"}} {
				flags := append([]string{"-o", "json", "--key", priv, "--identity", st.ref("att", "v1"), "--record", st.ref("att", rec),
					"--predicate-type", tc.predicate}, st.flags...)
				if tc.format == "bundle" {
					flags = append(flags, "--new-bundle-format")
				}
				out := decodeJSON[attestOutput](t, mustRun(t, 0, args("attest", flags, artifact)...).stdout)
				want, _ := attest.PredicateType(tc.predicate)
				if out.Identity.Digest != comp.Digest() || out.OutputRecord.String() != rec || out.PredicateType != want ||
					out.Format != tc.format || out.KeyID == "" || out.Attestation == "" {
					t.Errorf("attest output %+v", out)
				}
			}
			r := mustRun(t, 0, args("verify", append([]string{"-o", "json"}, st.flags...), artifact, "--attestation", "--key", pub)...)
			rep := decodeJSON[sigverify.AttestationReport](t, r.stdout)
			if rep.Verified != 2 || len(rep.Runs) != 1 || rep.Runs[0].Chain == nil {
				t.Errorf("verify report %+v", rep)
			}
			text := mustRun(t, 0, args("verify", st.flags, artifact, "--attestation", "--key", pub, "--predicate-type", "slsa")...).stdout
			if !strings.Contains(text, "1 of 1 run attestation(s) verify") || !strings.Contains(text, spec.SLSAProvenancePredicateType) {
				t.Errorf("text report:\n%s", text)
			}
			bad := mustRun(t, exitNotVerify, args("verify", st.flags, artifact, "--attestation", "--key", otherPub)...)
			if !strings.Contains(bad.stdout, "FAIL") || !strings.Contains(bad.stderr, "does not verify with the key") {
				t.Errorf("another key: stdout %s\nstderr %s", bad.stdout, bad.stderr)
			}
			// An artifact without attestations.
			mustRun(t, exitNotVerify, args("verify", st.flags, st.ref("att", "v1"), "--attestation", "--key", pub)...)
		})
	}
}

func TestAttestCommandErrors(t *testing.T) {
	priv, pub := newCLIKey(t)
	st := stores(t)[0]
	pushExample(t, st, "minimal", "atterr", "v1")
	id := st.ref("atterr", "v1")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no identity", args("attest", st.flags, id, "--key", priv), exitUsage, "--identity is required"},
		{"no key", args("attest", st.flags, id, "--identity", id), exitUsage, "--key is required"},
		{"bad predicate", args("attest", st.flags, id, "--identity", id, "--key", priv, "--predicate-type", "spdx"), exitUsage, "--predicate-type"},
		{"identity missing", args("attest", st.flags, id, "--identity", st.ref("atterr", "nope"), "--key", priv), exitError, "not found"},
		{"attestation without key", args("verify", st.flags, id, "--attestation"), exitUsage, "--attestation needs --key"},
		{"predicate without attestation", args("verify", st.flags, id, "--predicate-type", "run"), exitUsage, "--predicate-type needs --attestation"},
		{"attestation with declaration", args("verify", st.flags, id, "--attestation", "--key", pub, "--declaration", "x.yaml"), exitUsage, "cannot be combined"},
		{"export bad format", args("export", st.flags, id, "--format", "spdx"), exitUsage, "--format"},
		{"intoto without subject", args("export", st.flags, id, "--format", "intoto"), exitUsage, "--subject"},
		{"subject with cyclonedx", args("export", st.flags, id, "--subject", "sha256:00"), exitUsage, "--format intoto"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRun(t, tc.code, tc.args...)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q, want %q", r.stderr, tc.want)
			}
		})
	}
}

// TestExportCommand: the BOM is deterministic and names the identity; the
// in-toto statement is what attest signs.
func TestExportCommand(t *testing.T) {
	st := stores(t)[0]
	comp := pushExample(t, st, "rag-agent", "export", "v1")
	a := mustRun(t, 0, args("export", st.flags, st.ref("export", "v1"))...).stdout
	b := mustRun(t, 0, args("export", st.flags, st.ref("export", comp.Digest().String()), "--format", "cyclonedx")...).stdout
	if a != b || !strings.Contains(a, `"specVersion": "1.6"`) || !strings.Contains(a, comp.Digest().String()) || strings.Contains(a, "timestamp") {
		t.Fatalf("BOMs:\n%s\n%s", a, b)
	}
	if ts := mustRun(t, 0, args("export", st.flags, st.ref("export", "v1"), "--timestamp")...).stdout; !strings.Contains(ts, `"timestamp"`) {
		t.Errorf("--timestamp: no timestamp")
	}
	pushExample(t, st, "minimal", "export", "artifact")
	out := mustRun(t, 0, args("export", st.flags, st.ref("export", "v1"), "--format", "intoto", "--subject", st.ref("export", "artifact"), "--predicate-type", "slsa")...).stdout
	p, err := attest.ParseStatement(bytes.TrimSpace([]byte(out)))
	if err != nil || p.Identity.Digest != comp.Digest() || p.Provenance == nil {
		t.Fatalf("%v %+v", err, p)
	}
	var st2 struct {
		Subject []struct {
			Name string `json:"name"`
		} `json:"subject"`
	}
	if err := json.Unmarshal([]byte(out), &st2); err != nil || len(st2.Subject) != 1 || !strings.HasSuffix(st2.Subject[0].Name, filepath.Base("export")) {
		t.Errorf("subject %+v (%v)", st2, err)
	}
}
