package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/spf13/cobra"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/runid/runid-oci/internal/testregistry"
)

const (
	testUser     = "alice"
	testPassword = "s3cret-pass"
)

// runCLIStdin runs the CLI in-process with stdin.
func runCLIStdin(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &out, &errb)
	return cliResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// expect fails the test unless r exited with code and its stderr holds
// every one of want.
func expect(t *testing.T, r cliResult, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Fatalf("stderr does not say %q:\n%s", w, r.stderr)
		}
	}
}

// TestLoginPushLogout: against Distribution over HTTPS (a test CA) with
// htpasswd authentication, a push without a credential fails with a hint
// to log in; login stores the credential in --registry-config; push and
// verify use it; logout removes it and push fails again with the hint.
func TestLoginPushLogout(t *testing.T) {
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{Users: map[string]string{testUser: testPassword}})
	config := filepath.Join(t.TempDir(), "config.json")
	tls := []string{"--ca-file", reg.CA.File, "--registry-config", config}
	decl := exampleDecl("minimal")
	ref := reg.Ref("runs", "v1")
	loginHint := "runid-oci login " + reg.Host

	r := runCLI(t, append([]string{"push", ref, decl}, tls...)...)
	expect(t, r, exitError, "basic credential not found", loginHint, "docker login "+reg.Host, "--password-stdin")

	r = runCLIStdin(t, "wrong\n", append([]string{"login", reg.Host, "-u", testUser, "--password-stdin"}, tls...)...)
	expect(t, r, exitError, "401")
	r = runCLIStdin(t, testPassword+"\n", append([]string{"login", reg.Host, "-u", testUser, "--password-stdin"}, tls...)...)
	expect(t, r, exitOK)
	if r.stdout != "Login Succeeded\n" {
		t.Fatalf("login stdout = %q", r.stdout)
	}

	r = runCLI(t, append([]string{"push", ref, decl}, tls...)...)
	expect(t, r, exitOK)
	if got, want := strings.TrimSpace(r.stdout), packDigest(t, decl); got != want {
		t.Fatalf("pushed %s, want %s", got, want)
	}
	expect(t, runCLI(t, append([]string{"verify", ref}, tls...)...), exitOK)

	r = runCLI(t, "logout", reg.Host, "--registry-config", config)
	expect(t, r, exitOK)
	r = runCLI(t, append([]string{"push", ref, decl}, tls...)...)
	expect(t, r, exitError, "basic credential not found", loginHint)
}

// TestCredentialFlags: -u with -p or --password-stdin works without a
// stored credential; -p warns; both -p and --password-stdin, or -u without
// a password, are usage errors.
func TestCredentialFlags(t *testing.T) {
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{Users: map[string]string{testUser: testPassword}})
	base := []string{"push", reg.Ref("runs", "v1"), exampleDecl("minimal"), "--ca-file", reg.CA.File,
		"--registry-config", filepath.Join(t.TempDir(), "config.json")}

	r := runCLIStdin(t, testPassword+"\r\n", append(base, "-u", testUser, "--password-stdin")...)
	expect(t, r, exitOK)
	if strings.Contains(r.stderr, "WARNING") {
		t.Fatalf("--password-stdin warned:\n%s", r.stderr)
	}
	r = runCLI(t, append(base, "--username", testUser, "-p", testPassword)...)
	expect(t, r, exitOK, "WARNING! Using --password", "--password-stdin")
	r = runCLI(t, append(base, "-u", testUser, "-p", "wrong")...)
	expect(t, r, exitError, "401", "runid-oci login "+reg.Host)

	r = runCLIStdin(t, testPassword, append(base, "-u", testUser, "-p", testPassword, "--password-stdin")...)
	expect(t, r, exitUsage, "--password and --password-stdin cannot be used together")
	r = runCLI(t, append(base, "-u", testUser)...)
	expect(t, r, exitUsage, "--username needs a password")
	r = runCLIStdin(t, "", append(base, "-u", testUser, "--password-stdin")...)
	expect(t, r, exitUsage, "--password-stdin: stdin is empty")
	r = runCLI(t, append(base, "--cert-file", reg.ClientCertFile)...)
	expect(t, r, exitUsage, "--cert-file and --key-file go together")
	r = runCLI(t, "login", reg.Host, "-u", testUser, "--ca-file", reg.CA.File)
	expect(t, r, exitUsage, "login needs a password")
}

// TestTLSFlags: an HTTPS registry of an unknown authority fails with a
// hint naming --ca-file and --insecure, and works with either; plain HTTP
// and HTTPS mixed up get a hint naming --plain-http.
func TestTLSFlags(t *testing.T) {
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{})
	decl := exampleDecl("minimal")
	ref := reg.Ref("runs", "v1")

	r := runCLI(t, "push", ref, decl)
	expect(t, r, exitError, "certificate signed by unknown authority", "--ca-file", "--insecure")
	expect(t, runCLI(t, "push", ref, decl, "--ca-file", reg.CA.File), exitOK)
	expect(t, runCLI(t, "inspect", ref, "--insecure"), exitOK)

	r = runCLI(t, "inspect", ref, "--plain-http")
	expect(t, r, exitError, "If the registry speaks HTTPS, drop --plain-http.")

	plain := testregistry.StartDistribution(t)
	r = runCLI(t, "push", plain.Ref("runs", "v1"), decl)
	expect(t, r, exitError, "server gave HTTP response to HTTPS client", "add --plain-http")
}

// TestClientCertFlags: a registry that requires client certificates
// (Distribution's http.tls.clientcas) takes the one of --cert-file and
// --key-file; without it the command fails with a hint naming them.
func TestClientCertFlags(t *testing.T) {
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{RequireClientCert: true})
	decl := exampleDecl("minimal")
	ref := reg.Ref("runs", "v1")

	r := runCLI(t, "push", ref, decl, "--ca-file", reg.CA.File)
	expect(t, r, exitError, "--cert-file", "--key-file")
	expect(t, runCLI(t, "push", ref, decl, "--ca-file", reg.CA.File, "--cert-file", reg.ClientCertFile, "--key-file", reg.ClientKeyFile), exitOK)
}

// TestCopyRemoteFlags: copy takes oras's --from-* and --to-* registry
// flags, each side with its own authority and credential.
func TestCopyRemoteFlags(t *testing.T) {
	src := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{Users: map[string]string{"src": "src-pass"}})
	dst := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{Users: map[string]string{"dst": "dst-pass"}})
	config := filepath.Join(t.TempDir(), "config.json")
	decl := exampleDecl("minimal")
	expect(t, runCLI(t, "push", src.Ref("runs", "v1"), decl, "--ca-file", src.CA.File, "-u", "src", "-p", "src-pass", "--registry-config", config), exitOK)

	args := []string{"copy", src.Ref("runs", "v1"), dst.Ref("mirror", "v1"), "--registry-config", config,
		"--from-ca-file", src.CA.File, "--from-username", "src", "--from-password", "src-pass",
		"--to-ca-file", dst.CA.File, "--to-username", "dst"}
	r := runCLI(t, args...)
	expect(t, r, exitUsage, "--to-username needs a password")
	r = runCLI(t, append(args, "--to-password", "dst-pass")...)
	expect(t, r, exitOK)
	expect(t, runCLI(t, "verify", dst.Ref("mirror", "v1"), "--insecure", "-u", "dst", "-p", "dst-pass"), exitOK)

	// The destination's credential is not sent to the source.
	r = runCLI(t, "copy", src.Ref("runs", "v1"), dst.Ref("mirror", "v2"), "--registry-config", config,
		"--from-ca-file", src.CA.File, "--to-ca-file", dst.CA.File, "--to-username", "dst", "--to-password", "dst-pass")
	expect(t, r, exitError, "basic credential not found", "runid-oci login "+src.Host)
	if strings.Contains(r.stderr, "-u/--username") {
		t.Fatalf("hint names -u/--username, which copy does not have:\n%s", r.stderr)
	}
}

// TestLinkMissingNamesReference: link to an artifact or an identity that
// a registry does not have names the full reference looked up.
func TestLinkMissingNamesReference(t *testing.T) {
	reg := testregistry.StartDistribution(t)
	decl := exampleDecl("minimal")
	expect(t, runCLI(t, "push", reg.Ref("runs", "v1"), decl, "--plain-http"), exitOK)
	r := runCLI(t, "link", reg.Ref("images/agent", "1.0"), "--identity", reg.Ref("runs", "v1"), "--plain-http")
	expect(t, r, exitError, "ARTIFACT "+reg.Ref("images/agent", "1.0")+": ", "not found")
	r = runCLI(t, "link", reg.Ref("runs", "v1"), "--identity", reg.Ref("runs", "v9"), "--plain-http")
	expect(t, r, exitError, "--identity "+reg.Ref("runs", "v9")+": ", "not found")
}

// TestLoginPrompt: login without a password asks for the username and
// the password on a terminal (a pseudo-terminal here).
func TestLoginPrompt(t *testing.T) {
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{Users: map[string]string{testUser: testPassword}})
	config := filepath.Join(t.TempDir(), "config.json")
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	go io.Copy(io.Discard, ptmx) // the echo of the username
	if _, err := ptmx.WriteString(testUser + "\n" + testPassword + "\n"); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"login", reg.Host, "--ca-file", reg.CA.File, "--registry-config", config}, tty, &out, &errb)
	if code != exitOK || out.String() != "Login Succeeded\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "Username: ") || !strings.Contains(errb.String(), "Password: ") {
		t.Fatalf("stderr does not prompt:\n%s", errb.String())
	}
	expect(t, runCLI(t, "push", reg.Ref("runs", "v1"), exampleDecl("minimal"), "--ca-file", reg.CA.File, "--registry-config", config), exitOK)
}

// TestRegistryHintNamesOnlyFlagsTheCommandHas: a registry error on a
// command without the flag that fixes it gets no hint naming that flag;
// copy's hints name its prefixed flags.
func TestRegistryHintNamesOnlyFlagsTheCommandHas(t *testing.T) {
	withFlags := func(flags ...string) *cobra.Command {
		c := &cobra.Command{Use: "x"}
		for _, f := range flags {
			c.Flags().Bool(f, false, "")
		}
		return c
	}
	httpErr := fmt.Errorf(`resolve: Head "https://r.example/v2/runs/manifests/v1": http: server gave HTTP response to HTTPS client`)
	authErr := fmt.Errorf("push: %w", &errcode.ErrorResponse{Method: "GET", StatusCode: http.StatusUnauthorized, URL: &url.URL{Scheme: "https", Host: "r.example:5000", Path: "/v2/"}})
	tests := []struct {
		name string
		cmd  *cobra.Command
		err  error
		want string
	}{
		{"plain http", withFlags("plain-http"), httpErr, "add --plain-http."},
		{"plain http on copy", withFlags("from-plain-http", "to-plain-http"), httpErr, "add --from-plain-http or --to-plain-http."},
		{"plain http without the flag", withFlags(), httpErr, ""},
		{"401", withFlags("username"), authErr, "'runid-oci login r.example:5000' (or 'docker login r.example:5000'), or give -u/--username"},
		{"401 on copy", withFlags("from-username", "to-username"), authErr, "'runid-oci login r.example:5000' (or 'docker login r.example:5000')."},
		{"other", withFlags("plain-http", "username", "ca-file"), errors.New("disk full"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := hint(tc.cmd, tc.err)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("hint = %q, want one holding %q", got, tc.want)
			}
		})
	}
}
