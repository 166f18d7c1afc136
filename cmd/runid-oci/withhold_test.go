package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/pull"
)

// withheldCLIRun writes a declaration whose system prompt (a text file) and
// input (a JSON file) are withheld, and a withhold secret file.
type withheldCLIRun struct {
	decl, secretFile, promptFile, inputFile string
}

func newWithheldCLIRun(t *testing.T) withheldCLIRun {
	t.Helper()
	dir := t.TempDir()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	r := withheldCLIRun{
		decl:       filepath.Join(dir, "runid.yaml"),
		secretFile: filepath.Join(dir, "withhold.secret"),
		promptFile: filepath.Join(dir, "prompt.md"),
		inputFile:  filepath.Join(dir, "case.json"),
	}
	files := map[string]string{
		r.secretFile: string(secret),
		r.promptFile: "You are the escalation agent for account 88-1234.\n",
		r.inputFile:  "{ \"account\": \"88-1234\",\n  \"question\": \"Why was I charged twice?\" }\n",
		r.decl: `runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: {temperature: 0}
  system-prompt: [{name: system-prompt/escalation.md, file: prompt.md, withheld: true}]
  tools: none
  context: none
  input: [{name: input/case.json, file: case.json, withheld: true}]
  config: none
  runtime: none
`,
	}
	for p, data := range files {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestPushWithheld(t *testing.T) {
	r := newWithheldCLIRun(t)
	want := strings.TrimSpace(mustRun(t, 0, "digest", r.decl, "--withhold-secret-file", r.secretFile).stdout)
	hex := strings.TrimPrefix(want, "sha256:")

	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			revealDir := filepath.Join(t.TempDir(), "reveals")
			target := st.ref("confidential", "v1")
			res := mustRun(t, 0, args("push", append([]string{"-o", "json"}, st.flags...), target, r.decl,
				"--withhold-secret-file", r.secretFile, "--reveal-dir", revealDir)...)
			out := decodeJSON[pushResult](t, res.stdout)
			if out.Digest.String() != want {
				t.Errorf("push gave %s, digest %s", out.Digest, want)
			}
			wantReveals := []string{
				filepath.Join(revealDir, hex, "system-prompt", "escalation.md.reveal.json"),
				filepath.Join(revealDir, hex, "input", "case.json.reveal.json"),
			}
			if strings.Join(out.Reveals, "\n") != strings.Join(wantReveals, "\n") {
				t.Errorf("reveals %v, want %v", out.Reveals, wantReveals)
			}
			for _, p := range wantReveals {
				st, err := os.Stat(p)
				if err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("reveal %s: %v, mode %v; want mode 0600", p, err, st.Mode().Perm())
				}
			}

			// The content verifies against its reveal; anything else does not.
			promptReveal, inputReveal := wantReveals[0], wantReveals[1]
			ok := mustRun(t, 0, args("verify", st.flags, target, "--reveal", promptReveal, "--component", r.promptFile)...)
			if !strings.Contains(ok.stdout, "is exactly the withheld system-prompt component \"system-prompt/escalation.md\"") {
				t.Errorf("verify --reveal said:\n%s", ok.stdout)
			}
			mustRun(t, 0, args("verify", st.flags, target, "--reveal", inputReveal, "--component", r.inputFile)...)

			bad := mustRun(t, exitNotVerify, args("verify", append([]string{"-o", "json"}, st.flags...), target, "--reveal", promptReveal, "--component", r.inputFile)...)
			rep := decodeJSON[pull.Report](t, bad.stdout)
			failed := false
			for _, c := range rep.Checks {
				if c.Check == "reveal" && !c.OK {
					failed = true
				}
			}
			if rep.Verified || !failed {
				t.Errorf("verify --reveal with the wrong file: %+v, want a failed reveal check", rep.Checks)
			}
			mustRun(t, exitNotVerify, args("verify", st.flags, target, "--reveal", inputReveal, "--component", r.promptFile)...)

			// The identity verifies against its declaration with the secret.
			mustRun(t, 0, args("verify", st.flags, target, "--declaration", r.decl, "--withhold-secret-file", r.secretFile)...)
		})
	}
}

func TestPushWithheldText(t *testing.T) {
	r := newWithheldCLIRun(t)
	layout := filepath.Join(t.TempDir(), "runs")
	revealDir := filepath.Join(t.TempDir(), "reveals")
	res := mustRun(t, 0, "push", "--oci-layout", layout+":v1", r.decl, "--withhold-secret-file", r.secretFile, "--reveal-dir", revealDir)
	if !strings.HasPrefix(res.stdout, "sha256:") || strings.Count(res.stdout, "\n") != 1 {
		t.Errorf("stdout %q, want the digest alone", res.stdout)
	}
	if !strings.Contains(res.stderr, "wrote 2 reveal file(s)") || !strings.Contains(res.stderr, revealDir) {
		t.Errorf("stderr does not say where the reveals are:\n%s", res.stderr)
	}
	// The environment variable names the secret file too.
	t.Setenv(withholdSecretEnv, r.secretFile)
	if got := mustRun(t, 0, "digest", r.decl).stdout; got != res.stdout {
		t.Errorf("digest with $%s = %q, push = %q", withholdSecretEnv, got, res.stdout)
	}
}

func TestWithheldUsage(t *testing.T) {
	r := newWithheldCLIRun(t)
	layout := filepath.Join(t.TempDir(), "runs")
	short := filepath.Join(t.TempDir(), "short.secret")
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"push without a secret", []string{"push", "--oci-layout", layout + ":v1", r.decl}, exitError, "--withhold-secret-file"},
		{"digest without a secret", []string{"digest", r.decl}, exitError, "RUNID_WITHHOLD_SECRET_FILE"},
		{"short secret", []string{"digest", r.decl, "--withhold-secret-file", short}, exitError, "need at least 32"},
		{"missing secret file", []string{"digest", r.decl, "--withhold-secret-file", short + ".missing"}, exitError, "no such file"},
		{"reveal without component", []string{"verify", "--oci-layout", layout + ":v1", "--reveal", "r.json"}, exitUsage, "--reveal needs --component"},
		{"component without reveal", []string{"verify", "--oci-layout", layout + ":v1", "--component", r.promptFile}, exitUsage, "--component needs --reveal"},
		{"reveal and declaration", []string{"verify", "--oci-layout", layout + ":v1", "--reveal", "r.json", "--component", r.promptFile, "--declaration", r.decl}, exitUsage, "cannot be combined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustRun(t, tc.code, tc.args...)
			if !strings.Contains(res.stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", res.stderr, tc.want)
			}
		})
	}
	if _, err := os.Stat(layout); err == nil {
		t.Error("a failed push created the layout")
	}
}

func TestPushRefusesSecrets(t *testing.T) {
	dir := t.TempDir()
	token := "gh" + "p_" + strings.Repeat("aB1c", 9) // assembled so that no scanner flags this file
	if err := os.WriteFile(filepath.Join(dir, "agent.yaml"), []byte("name: triage\ngithub_token: "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	decl := filepath.Join(dir, "runid.yaml")
	if err := os.WriteFile(decl, []byte(`runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: none
  system-prompt: none
  tools: none
  context: none
  input: [{name: q.txt, text: "Hi"}]
  config: [{name: config/agent.yaml, file: agent.yaml}]
  runtime: none
`), 0o600); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "runs")
	res := mustRun(t, exitError, "push", "--debug", "--oci-layout", layout+":v1", decl)
	if !strings.Contains(res.stderr, "config/agent.yaml line 2: github-token") || !strings.Contains(res.stderr, "--allow-secrets") {
		t.Errorf("stderr does not name the finding and the override:\n%s", res.stderr)
	}
	if strings.Contains(res.stderr+res.stdout, token) || strings.Contains(res.stderr+res.stdout, token[4:16]) {
		t.Error("the credential is printed")
	}
	blobs, _ := filepath.Glob(filepath.Join(layout, "blobs", "*", "*"))
	if len(blobs) != 0 {
		t.Errorf("a refused push stored %d blobs", len(blobs))
	}
	mustRun(t, 0, "push", "--oci-layout", layout+":v1", decl, "--allow-secrets")
	if blobs, _ := filepath.Glob(filepath.Join(layout, "blobs", "*", "*")); len(blobs) == 0 {
		t.Error("push --allow-secrets stored nothing")
	}
}

// TestSecretScanExamplesPush: the shipped examples push without
// --allow-secrets (TestPush pushes them all; this names the reason).
func TestSecretScanExamplesPush(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex, func(t *testing.T) {
			layout := filepath.Join(t.TempDir(), "runs")
			res := mustRun(t, 0, "push", "--oci-layout", layout+":v1", exampleDecl(ex))
			if strings.Contains(res.stderr, "credential") {
				t.Errorf("stderr: %s", res.stderr)
			}
		})
	}
}
