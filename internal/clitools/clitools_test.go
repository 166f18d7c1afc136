package clitools

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPinnedVersions runs the real binaries (building them if the cache is
// cold) and checks they report the pinned versions.
func TestPinnedVersions(t *testing.T) {
	tests := []struct {
		name string
		bin  func(testing.TB) string
		tool Tool
		args []string // what prints the version
		want string
	}{
		{name: "oras", bin: Oras, tool: ToolOras, args: []string{"version"}, want: "Version:    1.3.6"},
		{name: "cosign", bin: Cosign, tool: ToolCosign, args: []string{"version"}, want: "GitVersion:    v2.6.5"},
		{name: "cosign3", bin: Cosign3, tool: ToolCosign3, args: []string{"version"}, want: "GitVersion:    v3.1.3"},
		{name: "registry", bin: Registry, tool: ToolRegistry, args: []string{"--version"}, want: "github.com/distribution/distribution/v3 v3.0.0"},
		{name: "opa", bin: OPA, tool: ToolOPA, args: []string{"version"}, want: "Version: 1.22.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := tc.bin(t)
			want, err := Path(tc.tool)
			if err != nil {
				t.Fatalf("Path: %v", err)
			}
			if bin != want {
				t.Errorf("binary path = %s, want cache layout path %s", bin, want)
			}
			out, err := Command(t, bin, tc.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s version: %v\n%s", tc.name, err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("%s version output lacks %q:\n%s", tc.name, tc.want, out)
			}
			if !strings.Contains(string(out), strings.TrimPrefix(tc.tool.Version(), "v")) {
				t.Fatalf("%s version output lacks pin %s:\n%s", tc.name, tc.tool.Version(), out)
			}
		})
	}
}

// TestOPAPinMatchesGoMod: the opa CLI is the version of the policy engine
// that runid-oci links, so that opa test and opa eval agree with it.
func TestOPAPinMatchesGoMod(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	want := ToolOPA.Package() + " " + ToolOPA.Version()
	if !strings.Contains(string(gomod), "\t"+want+"\n") {
		t.Fatalf("go.mod does not require %s; pin the opa CLI to the engine's version", want)
	}
}

func TestCacheDir(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name string
		env  string
		want string
	}{
		{name: "override", env: filepath.Join(home, "elsewhere"), want: filepath.Join(home, "elsewhere")},
		{name: "default under HOME", env: "", want: filepath.Join(home, ".cache", "runid-oci-tools")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv(CacheEnv, tc.env)
			got, err := CacheDir()
			if err != nil {
				t.Fatalf("CacheDir: %v", err)
			}
			if got != tc.want {
				t.Fatalf("CacheDir() = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestBuildReusesCache puts a stand-in executable where the layout says the
// tool lives and checks Build returns it instead of building.
func TestBuildReusesCache(t *testing.T) {
	for _, tool := range Tools() {
		t.Run(string(tool), func(t *testing.T) {
			cache := t.TempDir()
			t.Setenv(CacheEnv, cache)
			want := filepath.Join(cache, string(tool)+"-"+tool.Version()+"-static", filepath.Base(mustPath(t, tool)))
			if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(want, []byte("#!/bin/sh\necho stand-in\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			got, err := Build(t.Context(), tool)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got != want {
				t.Fatalf("Build = %s, want cached %s", got, want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		run     func(ctx context.Context, cache string) (string, error)
		wantErr error
	}{
		{
			name:    "unknown tool",
			run:     func(ctx context.Context, _ string) (string, error) { return Build(ctx, Tool("docker")) },
			wantErr: ErrUnknownTool,
		},
		{
			name: "go install fails",
			run: func(ctx context.Context, cache string) (string, error) {
				// GOPROXY=off: the module cannot be fetched, so the build fails
				// without touching the network.
				return build(ctx, cache, "nope", toolSpec{pkg: "example.invalid/nope/cmd/nope", version: "v0.0.1"}, []string{"GOPROXY=off"})
			},
			wantErr: ErrBuild,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			t.Setenv(CacheEnv, cache)
			got, err := tc.run(t.Context(), cache)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got != "" {
				t.Errorf("path = %q, want empty on error", got)
			}
			entries, err := os.ReadDir(cache)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.IsDir() {
					t.Errorf("failed build left directory %s in the cache", e.Name())
				}
			}
		})
	}
}

func TestLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lock(t.Context(), path)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	tests := []struct {
		name    string
		before  func()
		wantErr error
	}{
		{name: "held", before: func() {}, wantErr: context.DeadlineExceeded},
		{name: "released", before: unlock, wantErr: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.before()
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			release, err := lock(ctx, path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("lock err = %v, want %v", err, tc.wantErr)
			}
			if err == nil {
				release()
			}
		})
	}
}

func TestBuildEnv(t *testing.T) {
	env := buildEnv([]string{"PATH=/bin", "GOFLAGS=-tags=x", "GOWORK=/w/go.work", "GOOS=plan9", "CGO_ENABLED=1", "HOME=/h"}, "/gobin")
	tests := []struct {
		kv   string
		want bool
	}{
		{kv: "PATH=/bin", want: true},
		{kv: "HOME=/h", want: true},
		{kv: "GOBIN=/gobin", want: true},
		{kv: "GOFLAGS=-mod=mod", want: true},
		{kv: "GOWORK=off", want: true},
		{kv: "GOFLAGS=-tags=x", want: false},
		{kv: "GOWORK=/w/go.work", want: false},
		{kv: "GOOS=plan9", want: false},
		{kv: "CGO_ENABLED=0", want: true},
		{kv: "CGO_ENABLED=1", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.kv, func(t *testing.T) {
			got := false
			for _, kv := range env {
				got = got || kv == tc.kv
			}
			if got != tc.want {
				t.Fatalf("%s in env = %v, want %v (env %q)", tc.kv, got, tc.want, env)
			}
		})
	}
}

// mustPath is Path(tool) or a test failure.
func mustPath(t *testing.T, tool Tool) string {
	t.Helper()
	p, err := Path(tool)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
