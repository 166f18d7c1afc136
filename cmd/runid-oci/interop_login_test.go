package main

import (
	"path/filepath"
	"testing"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/testregistry"
)

// TestOrasLoginInterop: runid-oci and the real oras CLI share the Docker
// credential store: what oras login stores, runid-oci pushes with; what
// runid-oci logout removes, oras no longer has; what runid-oci login
// stores, oras reads with.
func TestOrasLoginInterop(t *testing.T) {
	oras := clitools.Oras(t)
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{Users: map[string]string{testUser: testPassword}})
	config := filepath.Join(t.TempDir(), "config.json")
	common := []string{"--ca-file", reg.CA.File, "--registry-config", config}
	ref := reg.Ref("runs", "v1")

	mustTool(t, 0, "", oras, append([]string{"login", reg.Host, "-u", testUser, "-p", testPassword}, common...)...)
	expect(t, runCLI(t, append([]string{"push", ref, exampleDecl("minimal")}, common...)...), exitOK)
	mustTool(t, 0, "", oras, append([]string{"manifest", "fetch", ref}, common...)...)

	expect(t, runCLI(t, "logout", reg.Host, "--registry-config", config), exitOK)
	if r := runTool(t, "", oras, append([]string{"manifest", "fetch", ref}, common...)...); r.code == 0 {
		t.Fatalf("oras read the registry after runid-oci logout:\n%s", r.stdout)
	}

	expect(t, runCLIStdin(t, testPassword+"\n", append([]string{"login", reg.Host, "-u", testUser, "--password-stdin"}, common...)...), exitOK)
	mustTool(t, 0, "", oras, append([]string{"manifest", "fetch", ref}, common...)...)
}
