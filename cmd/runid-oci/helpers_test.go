package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack"
)

// examplesDir holds the example declarations.
var examplesDir = filepath.Join("..", "..", "testdata", "examples")

// examples are the example declarations every command is tested on.
var examples = []string{"minimal", "rag-agent", "local-weights", "extension-role"}

func exampleDecl(name string) string { return filepath.Join(examplesDir, name, "runid.yaml") }

// cliResult is one in-process run of the CLI.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI in-process with args.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	return runCLIContext(t.Context(), args...)
}

func runCLIContext(ctx context.Context, args ...string) cliResult {
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	return cliResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// mustRun runs the CLI and fails the test unless it exits with want.
func mustRun(t *testing.T, want int, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, args...)
	if r.code != want {
		t.Fatalf("runid-oci %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// decodeJSON decodes s into a new T, failing the test on error.
func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode JSON output: %v\n%s", err, s)
	}
	return v
}

// packDigest is the digest pack computes for a declaration.
func packDigest(t *testing.T, decl string) string {
	t.Helper()
	d, err := pack.Digest(t.Context(), decl, pack.BuildOptions{})
	if err != nil {
		t.Fatalf("pack.Digest(%s): %v", decl, err)
	}
	return d.String()
}

// store is a place to push identities to: an OCI layout or a registry.
type store struct {
	name string
	// flags select the store kind on the command line.
	flags []string
	// ref returns the TARGET string for a repository and a tag or digest
	// (empty for none).
	ref func(repo, ref string) string
	// open returns a read-only view of a repository, to check what was pushed.
	open func(t *testing.T, repo string) oras.ReadOnlyTarget
}

// stores starts an OCI layout (in a temporary directory), a Distribution
// registry and a go-containerregistry registry.
func stores(t *testing.T) []store {
	t.Helper()
	dir := t.TempDir()
	layoutRef := func(repo, ref string) string {
		p := filepath.Join(dir, repo)
		switch {
		case ref == "":
			return p
		case strings.Contains(ref, ":"):
			return p + "@" + ref
		default:
			return p + ":" + ref
		}
	}
	out := []store{{
		name:  "oci-layout",
		flags: []string{"--oci-layout"},
		ref:   layoutRef,
		open: func(t *testing.T, repo string) oras.ReadOnlyTarget {
			s, err := oci.NewWithContext(t.Context(), filepath.Join(dir, repo))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}}
	for _, r := range []struct {
		name  string
		start func(testing.TB) *testregistry.Registry
	}{{"distribution", testregistry.StartDistribution}, {"ggcr", testregistry.StartGGCR}} {
		reg := r.start(t)
		out = append(out, store{
			name:  r.name,
			flags: []string{"--plain-http"},
			ref:   reg.Ref,
			open: func(t *testing.T, repo string) oras.ReadOnlyTarget {
				return testregistry.Repository(t, reg, repo)
			},
		})
	}
	return out
}

// args joins a command, its flags and its arguments.
func args(cmd string, flags []string, rest ...string) []string {
	return append(append([]string{cmd}, flags...), rest...)
}

// pushExample pushes an example to st under repo:tag and returns its
// composition.
func pushExample(t *testing.T, st store, example, repo, tag string) *pack.Composition {
	t.Helper()
	decl := exampleDecl(example)
	comp, err := pack.Load(t.Context(), decl, pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, 0, args("push", st.flags, st.ref(repo, tag), decl)...)
	return comp
}
