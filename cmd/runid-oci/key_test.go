package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/pack/sign"
)

func TestKeyGenerate(t *testing.T) {
	t.Setenv(sign.PasswordEnv, cliKeyPassword)
	dir := t.TempDir()
	prefix := filepath.Join(dir, "release")
	r := mustRun(t, 0, "key", "generate", "--output-key-prefix", prefix, "-o", "json")
	out := decodeJSON[sign.KeyPair](t, r.stdout)
	if out.PrivateKey != prefix+".key" || out.PublicKey != prefix+".pub" || !strings.HasPrefix(out.KeyID, "sha256:") {
		t.Errorf("output %+v", out)
	}
	for _, f := range []struct {
		path string
		mode os.FileMode
		pem  string
	}{{out.PrivateKey, 0o600, "ENCRYPTED SIGSTORE PRIVATE KEY"}, {out.PublicKey, 0o644, "PUBLIC KEY"}} {
		st, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "-----BEGIN "+f.pem+"-----") {
			t.Errorf("%s is not a %s PEM file:\n%s", f.path, f.pem, b)
		}
	}
	privPEM, err := os.ReadFile(out.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.LoadPrivateKey(privPEM, []byte(cliKeyPassword)); err != nil {
		t.Errorf("the key does not open with COSIGN_PASSWORD: %v", err)
	}

	// Existing files are kept unless --force.
	r = mustRun(t, exitError, "key", "generate", "--output-key-prefix", prefix)
	if !strings.Contains(r.stderr, "--force") {
		t.Errorf("stderr %q", r.stderr)
	}
	if b, _ := os.ReadFile(out.PrivateKey); string(b) != string(privPEM) {
		t.Error("the private key was overwritten without --force")
	}
	mustRun(t, 0, "key", "generate", "--output-key-prefix", prefix, "--force")
	if b, _ := os.ReadFile(out.PrivateKey); string(b) == string(privPEM) {
		t.Error("--force did not write a new key")
	}

	// The stock cosign CLI reads the pair: its public key is ours.
	home := t.TempDir()
	cmd := clitools.Command(t, clitools.Cosign(t), "public-key", "--key", out.PrivateKey)
	cmd.Env = append(os.Environ(), "HOME="+home)
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("cosign public-key: %v", err)
	}
	want, err := os.ReadFile(out.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
		t.Errorf("cosign public-key gives\n%s\nwant\n%s", got, want)
	}
}

func TestKeyGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(sign.PasswordEnv, "")
	os.Unsetenv(sign.PasswordEnv)
	r := runCLI(t, "key", "generate", "--output-key-prefix", filepath.Join(dir, "k"))
	if r.code != exitError || !strings.Contains(r.stderr, "COSIGN_PASSWORD") {
		t.Errorf("without a password: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "k.key")); err == nil {
		t.Error("a key was written without a password")
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no subcommand", []string{"key"}},
		{"unknown subcommand", []string{"key", "rotate"}},
		{"extra argument", []string{"key", "generate", "extra"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := runCLI(t, tc.args...); r.code != exitUsage {
				t.Errorf("exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
}
