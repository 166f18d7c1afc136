// Package clitools provides the real oras, cosign and opa command-line
// tools, at pinned versions, for interoperability tests, and the CNCF
// Distribution registry server for the benchmarks (bench/).
//
// The tools are built with "go install <pkg>@<version>" (through the Go
// module proxy) without cgo, as their projects build their releases, into
// a cache outside the clone, laid out as
// <cache>/<tool>-<version>-static/<tool>. The cache is $RUNID_TOOLS_CACHE,
// or $HOME/.cache/runid-oci-tools when that is unset. A binary already in the
// cache is reused; builds are serialised with a file lock and land in the
// cache by an atomic rename, so concurrent test binaries never see a
// partial binary.
//
// Tests never build a tool: building cosign takes several minutes on a
// small machine, so "go run ./internal/clitools/prebuild" builds them once,
// up front (.ci/run does), and a test whose tool is missing is skipped, or
// fails when RUNID_REQUIRE_TOOLS=1. Commands run through Command die with
// their test.
package clitools

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tool names one of the pinned command-line tools.
type Tool string

// The pinned tools.
const (
	// ToolOras is the oras CLI, oras.land/oras/cmd/oras@v1.3.6.
	ToolOras Tool = "oras"
	// ToolCosign is the cosign CLI, github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5.
	ToolCosign Tool = "cosign"
	// ToolCosign3 is the cosign v3 CLI, github.com/sigstore/cosign/v3/cmd/cosign@v3.1.3,
	// whose default is the Sigstore bundle format. Its executable is named
	// cosign, in its own cache directory (cosign3-<version>/cosign).
	ToolCosign3 Tool = "cosign3"
	// ToolRegistry is the CNCF Distribution registry server,
	// github.com/distribution/distribution/v3/cmd/registry@v3.0.0, run as a
	// separate process by the benchmarks (bench/).
	ToolRegistry Tool = "registry"
	// ToolOPA is the Open Policy Agent CLI,
	// github.com/open-policy-agent/opa@v1.22.4: the same version as the
	// policy engine runid-oci links (go.mod), so "opa test" and "opa eval"
	// run the example policies exactly as runid-oci does.
	ToolOPA Tool = "opa"
)

// CacheEnv is the environment variable that overrides the cache directory.
const CacheEnv = "RUNID_TOOLS_CACHE"

type toolSpec struct {
	pkg     string
	version string
	// bin is the name of the executable "go install" writes, when it is
	// not the tool's name.
	bin string
}

// exe is the name of the tool's executable.
func (s toolSpec) exe(name string) string {
	if s.bin != "" {
		return s.bin
	}
	return name
}

var pinned = map[Tool]toolSpec{
	ToolOras:    {pkg: "oras.land/oras/cmd/oras", version: "v1.3.6"},
	ToolCosign:  {pkg: "github.com/sigstore/cosign/v2/cmd/cosign", version: "v2.6.5"},
	ToolCosign3: {pkg: "github.com/sigstore/cosign/v3/cmd/cosign", version: "v3.1.3", bin: "cosign"},
	// The same Distribution version as the in-process test registry
	// (internal/testregistry, go.mod).
	ToolRegistry: {pkg: "github.com/distribution/distribution/v3/cmd/registry", version: "v3.0.0"},
	ToolOPA:      {pkg: "github.com/open-policy-agent/opa", version: "v1.22.4"},
}

// Tools returns every pinned tool.
func Tools() []Tool {
	return []Tool{ToolOras, ToolCosign, ToolCosign3, ToolRegistry, ToolOPA}
}

// Version returns the pinned version of the tool (e.g. "v1.3.6"), or "" for
// an unknown tool.
func (t Tool) Version() string {
	return pinned[t].version
}

// Package returns the Go package path of the tool's main package, or "" for
// an unknown tool.
func (t Tool) Package() string {
	return pinned[t].pkg
}

// CacheDir returns the tool cache directory: $RUNID_TOOLS_CACHE if set,
// else $HOME/.cache/runid-oci-tools. It does not create it.
func CacheDir() (string, error) {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return filepath.Abs(dir)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("clitools: no cache directory (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(home, ".cache", "runid-oci-tools"), nil
}

// Path returns where the tool's binary lives in the cache,
// <cache>/<tool>-<version>-static/<tool>, whether or not it has been built.
func Path(tool Tool) (string, error) {
	s, ok := pinned[tool]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownTool, tool)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	return binPath(cache, string(tool), s), nil
}

func binPath(cache, name string, s toolSpec) string {
	return filepath.Join(cache, name+"-"+s.version+"-static", s.exe(name))
}

// Build returns the path of the tool's binary, building it into the cache
// first if it is not there yet. Errors wrap [ErrUnknownTool] or [ErrBuild].
func Build(ctx context.Context, tool Tool) (string, error) {
	s, ok := pinned[tool]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownTool, tool)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	return build(ctx, cache, string(tool), s, nil)
}

// build installs s into cache as name, with extraEnv appended to the go
// command's environment.
func build(ctx context.Context, cache, name string, s toolSpec, extraEnv []string) (string, error) {
	bin := binPath(cache, name, s)
	if usable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("clitools: create cache: %w", err)
	}
	unlock, err := lock(ctx, filepath.Join(cache, "."+name+"-"+s.version+".lock"))
	if err != nil {
		return "", fmt.Errorf("clitools: lock cache for %s: %w", name, err)
	}
	defer unlock()
	if usable(bin) { // built by someone else while we waited
		return bin, nil
	}

	tmp, err := os.MkdirTemp(cache, ".build-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("clitools: %w", err)
	}
	defer os.RemoveAll(tmp)
	gobin := filepath.Join(tmp, "bin")
	work := filepath.Join(tmp, "work") // outside any module
	if err := os.Mkdir(work, 0o755); err != nil {
		return "", fmt.Errorf("clitools: %w", err)
	}

	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrBuild, name, err)
	}
	target := s.pkg + "@" + s.version
	cmd := exec.CommandContext(ctx, goCmd, "install", target)
	cmd.Dir = work
	cmd.Env = append(buildEnv(os.Environ(), gobin), extraEnv...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: go install %s: %w\n%s", ErrBuild, target, err, tail(out.String(), 4000))
	}
	built := filepath.Join(gobin, s.exe(name))
	if !usable(built) {
		return "", fmt.Errorf("%w: go install %s produced no executable %s", ErrBuild, target, built)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", fmt.Errorf("clitools: %w", err)
	}
	// Same file system as the cache: the binary appears atomically.
	if err := os.Rename(built, bin); err != nil {
		return "", fmt.Errorf("clitools: install %s: %w", bin, err)
	}
	return bin, nil
}

// buildEnv returns env without the project's go settings that would change
// what "go install pkg@version" builds, plus GOBIN and CGO_ENABLED=0: a
// static binary, as oras, cosign, Distribution and OPA release theirs, and
// as runid-oci is built (README), so that the benchmarks compare like with
// like.
func buildEnv(env []string, gobin string) []string {
	drop := map[string]bool{
		"GOFLAGS": true, "GOBIN": true, "GOWORK": true, "GO111MODULE": true,
		"GOOS": true, "GOARCH": true, "CGO_ENABLED": true,
	}
	out := make([]string, 0, len(env)+4)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, "GOBIN="+gobin, "GOFLAGS=-mod=mod", "GOWORK=off", "GO111MODULE=on", "CGO_ENABLED=0")
}

func usable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 && fi.Size() > 0
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// RequireEnv is the environment variable that makes a missing tool a test
// failure: with RUNID_REQUIRE_TOOLS=1 (as .ci/run sets it) every interop
// test runs or fails; without it, a test whose tool is not in the cache is
// skipped.
const RequireEnv = "RUNID_REQUIRE_TOOLS"

// Oras returns the path of the pinned oras binary from the cache; see need
// for when it is missing.
func Oras(t testing.TB) string {
	t.Helper()
	return need(t, ToolOras)
}

// Cosign returns the path of the pinned cosign binary from the cache; see
// need for when it is missing.
func Cosign(t testing.TB) string {
	t.Helper()
	return need(t, ToolCosign)
}

// Cosign3 returns the path of the pinned cosign v3 binary from the cache;
// see need for when it is missing.
func Cosign3(t testing.TB) string {
	t.Helper()
	return need(t, ToolCosign3)
}

// Registry returns the path of the pinned Distribution registry binary
// from the cache; see need for when it is missing.
func Registry(t testing.TB) string {
	t.Helper()
	return need(t, ToolRegistry)
}

// OPA returns the path of the pinned opa binary, or skips the test when
// it is not built (see need).
func OPA(t testing.TB) string {
	t.Helper()
	return need(t, ToolOPA)
}

// need returns the cached binary of tool. Tests never build a tool (cosign
// takes minutes, longer than a package's test timeout on a small machine):
// when it is not in the cache the test is skipped, naming the command that
// builds it, or fails when RequireEnv is "1".
func need(t testing.TB, tool Tool) string {
	t.Helper()
	p, err := Path(tool)
	if err != nil {
		t.Fatalf("clitools: %s: %v", tool, err)
	}
	if usable(p) {
		return p
	}
	msg := fmt.Sprintf("clitools: %s %s is not built (%s missing); run \"go run ./internal/clitools/prebuild\" first", tool, tool.Version(), p)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1 makes a missing tool a failure)", msg, RequireEnv)
		return ""
	}
	t.Skip(msg)
	return ""
}

// Command returns a command running bin with args that is bound to the
// test: it runs in its own process group, and that whole group is killed
// when the test's context ends or the test is cleaned up, so that no
// child process outlives the test.
func Command(t testing.TB, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	ownGroup(cmd)
	t.Cleanup(func() { killGroup(cmd) })
	return cmd
}

// System returns the path of a command the system provides (jq, sha256sum),
// found on PATH. Without it the test is skipped with a message naming the
// command, or fails under RUNID_REQUIRE_TOOLS=1 (.ci/run installs them).
func System(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is not installed (Debian: apt-get install %s): %v", name, name, err)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
