package main

// Interoperability with the real oras CLI (the pinned version from
// internal/clitools): what runid-oci pushes is an ordinary OCI artifact that
// oras pulls at its logical names, and an identity assembled by hand with
// oras from the spec's media types and annotations alone is one that
// runid-oci verifies and computes the same digest for.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// runidBin is the runid-oci binary built once by TestMain.
var runidBin string

// testDir is TestMain's directory for what the tests of this binary share
// (the built binary, key pairs); it is removed when they end.
var testDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "runid-oci-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	testDir = dir
	// No test reads the machine's registry credentials.
	dockerConfig := filepath.Join(dir, "docker")
	if err := os.Mkdir(dockerConfig, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	os.Setenv("DOCKER_CONFIG", dockerConfig)
	runidBin = filepath.Join(dir, "runid-oci")
	build := exec.Command("go", "build", "-o", runidBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "TestMain: go build runid-oci: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// toolResult is one run of an external binary.
type toolResult struct {
	code           int
	stdout, stderr string
}

// runTool runs bin with args in dir (the test's working directory if
// empty).
func runTool(t *testing.T, dir, bin string, args ...string) toolResult {
	t.Helper()
	cmd := clitools.Command(t, bin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", bin, err)
	}
	return toolResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// mustTool runs bin and fails the test unless it exits with want.
func mustTool(t *testing.T, want int, dir, bin string, args ...string) toolResult {
	t.Helper()
	r := runTool(t, dir, bin, args...)
	if r.code != want {
		t.Fatalf("%s %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// orasTarget is where the interop tests put identities: a Distribution
// registry over plain HTTP, or an OCI image layout.
type orasTarget struct {
	name string
	// flags are given to both oras and runid-oci.
	flags []string
	// repo returns the repository (or layout directory) for a name.
	repo func(name string) string
}

func orasTargets(t *testing.T) []orasTarget {
	reg := testregistry.StartDistribution(t)
	dir := t.TempDir()
	return []orasTarget{
		{name: "distribution", flags: []string{"--plain-http"}, repo: func(n string) string { return reg.Host + "/" + n }},
		{name: "oci-layout", flags: []string{"--oci-layout"}, repo: func(n string) string { return filepath.Join(dir, n) }},
	}
}

// TestOrasPullsRunidIdentity: oras pull writes every component of an
// identity pushed by runid-oci at its logical name with the same bytes, and
// oras manifest fetch shows the runid artifactType.
func TestOrasPullsRunidIdentity(t *testing.T) {
	oras := clitools.Oras(t)
	decl := exampleDecl("rag-agent")
	comp, err := pack.Load(t.Context(), decl, pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range orasTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ref := tg.repo("runs") + ":rag-agent"
			pushed := mustTool(t, 0, "", runidBin, args("push", tg.flags, ref, decl)...)
			if got := strings.TrimSpace(pushed.stdout); got != comp.Digest().String() {
				t.Fatalf("runid-oci push printed %q, want %s", got, comp.Digest())
			}

			out := t.TempDir()
			mustTool(t, 0, "", oras, args("pull", tg.flags, ref, "-o", out)...)
			for _, c := range comp.Components {
				want := testutil.ComponentBytes(t, c)
				got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(c.Name)))
				if err != nil {
					t.Errorf("oras pull did not write %s: %v", c.Name, err)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: oras pulled %d bytes that differ from the packed %d bytes", c.Name, len(got), len(want))
				}
			}

			m := mustTool(t, 0, "", oras, append([]string{"manifest", "fetch"}, append(tg.flags, ref)...)...)
			if !strings.Contains(m.stdout, `"artifactType":"application/vnd.runid.identity.v1"`) {
				t.Errorf("oras manifest fetch lacks the runid artifactType:\n%s", m.stdout)
			}
			if sum := sha256.Sum256([]byte(m.stdout)); "sha256:"+hex.EncodeToString(sum[:]) != comp.Digest().String() {
				t.Errorf("oras manifest fetch returned bytes that do not hash to %s", comp.Digest())
			}
		})
	}
}

// handDeclaration is the declaration equivalent to handComponents.
const handDeclaration = `runid: "1"
roles:
  com.example.audit:
    - name: audit/policy.txt
      text: "log every tool call"
  model: { provider: openai, name: gpt-4o-mini }
  parameters: { max_tokens: 256, seed: 7 }
  system-prompt:
    - name: system-prompt.txt
      text: "You are terse."
  tools: none
  context:
    - name: context/notes.md
      file: notes.md
  input:
    - name: input/messages.json
      inline: [{ role: user, content: "Hi" }]
  config: none
  runtime: { harness: by-hand }
`

// handNotes is the file behind the context component.
const handNotes = "# Notes\n\nWritten by hand.\n"

// handComponent is one component of the hand-assembled identity, written
// from the spec's rules without runid-oci: its canonical bytes (RFC 8785 for
// JSON, as is for text), media type and annotations.
type handComponent struct {
	role, name, mediaType string
	data                  []byte
}

// handComponents are in canonical role order: the core roles in their fixed
// order, then extension roles by name.
var handComponents = []handComponent{
	{"model", "model.json", "application/vnd.runid.model.v1+json", []byte(`{"name":"gpt-4o-mini","provider":"openai"}`)},
	{"parameters", "parameters.json", "application/vnd.runid.parameters.v1+json", []byte(`{"max_tokens":256,"seed":7}`)},
	{"system-prompt", "system-prompt.txt", "application/vnd.runid.system-prompt.v1.text", []byte("You are terse.")},
	{"context", "context/notes.md", "application/vnd.runid.context.v1.text", []byte(handNotes)},
	{"input", "input/messages.json", "application/vnd.runid.input.v1+json", []byte(`[{"content":"Hi","role":"user"}]`)},
	{"runtime", "runtime.json", "application/vnd.runid.runtime.v1+json", []byte(`{"harness":"by-hand"}`)},
	{"com.example.audit", "audit/policy.txt", "application/vnd.runid.extension.v1.text", []byte("log every tool call")},
}

// handRoles are the role states of handComponents.
var handRoles = map[string]any{
	"model": "present", "parameters": "present", "system-prompt": "present", "tools": "none",
	"context": "present", "input": "present", "config": "none", "runtime": "present",
	"com.example.audit": "present",
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// handIdentity writes the component blobs, the identity document and the
// manifest of the hand assembly into dir (components at their logical
// names), leaving out the role skip. It returns the document and manifest
// bytes.
func handIdentity(t *testing.T, dir, skip string) (document, manifest []byte) {
	t.Helper()
	roles := map[string]any{}
	for r, s := range handRoles {
		if r != skip {
			roles[r] = s
		}
	}
	var entries, layers []any
	for _, c := range handComponents {
		if c.role == skip {
			continue
		}
		d := sha256Digest(c.data)
		entries = append(entries, map[string]any{
			"role": c.role, "name": c.name, "mediaType": c.mediaType, "digest": d, "size": len(c.data),
		})
		layers = append(layers, map[string]any{
			"mediaType": c.mediaType, "digest": d, "size": len(c.data),
			"annotations": map[string]any{"dev.runid.role": c.role, "org.opencontainers.image.title": c.name},
		})
		p := filepath.Join(dir, filepath.FromSlash(c.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	document, err := spec.MarshalCanonical(map[string]any{
		"specVersion": "1.0",
		"roles":       roles,
		"components":  entries,
	})
	if err != nil {
		t.Fatal(err)
	}
	manifest, err = spec.MarshalCanonical(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"artifactType":  "application/vnd.runid.identity.v1",
		"config": map[string]any{
			"mediaType": "application/vnd.runid.identity.v1+json",
			"digest":    sha256Digest(document),
			"size":      len(document),
		},
		"layers": layers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return document, manifest
}

// assembleByHand pushes the hand assembly (less the role skip) with oras
// blob push and oras manifest push, tagged v1, and returns its reference
// and the digest of the manifest bytes.
func assembleByHand(t *testing.T, oras string, tg orasTarget, repo, skip string) (ref, digest string) {
	t.Helper()
	dir := t.TempDir()
	doc, manifest := handIdentity(t, dir, skip)
	for _, c := range handComponents {
		if c.role != skip {
			mustTool(t, 0, dir, oras, append([]string{"blob", "push"}, append(tg.flags, tg.repo(repo), c.name)...)...)
		}
	}
	docPath, manifestPath := filepath.Join(t.TempDir(), "document.json"), filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(docPath, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifestPath, manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	mustTool(t, 0, "", oras, append([]string{"blob", "push"}, append(tg.flags, tg.repo(repo), docPath)...)...)
	ref = tg.repo(repo) + ":v1"
	mustTool(t, 0, "", oras, append([]string{"manifest", "push"}, append(tg.flags,
		"--media-type", "application/vnd.oci.image.manifest.v1+json", ref, manifestPath)...)...)
	return ref, sha256Digest(manifest)
}

// failedChecks returns the checks of a JSON verification report that did
// not pass, as "check subject".
func failedChecks(t *testing.T, reportJSON string) []string {
	t.Helper()
	var rep struct {
		Verified bool `json:"verified"`
		Checks   []struct {
			Check   string `json:"check"`
			Subject string `json:"subject"`
			OK      bool   `json:"ok"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(reportJSON), &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, reportJSON)
	}
	var failed []string
	for _, c := range rep.Checks {
		if !c.OK {
			failed = append(failed, strings.TrimSpace(c.Check+" "+c.Subject))
		}
	}
	if rep.Verified != (len(failed) == 0) {
		t.Errorf("report says verified=%v with failed checks %q", rep.Verified, failed)
	}
	return failed
}

// TestHandAssembledIdentityVerifies: an identity assembled by hand with oras
// blob push and oras manifest push verifies with runid-oci verify (also
// against the equivalent declaration) and has the digest runid-oci digest
// computes for it.
func TestHandAssembledIdentityVerifies(t *testing.T) {
	oras := clitools.Oras(t)
	declDir := t.TempDir()
	decl := filepath.Join(declDir, "runid.yaml")
	if err := os.WriteFile(decl, []byte(handDeclaration), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(declDir, "notes.md"), []byte(handNotes), 0o644); err != nil {
		t.Fatal(err)
	}
	wantDigest := strings.TrimSpace(mustTool(t, 0, "", runidBin, "digest", decl).stdout)

	for _, tg := range orasTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ref, digest := assembleByHand(t, oras, tg, "hand", "")
			if digest != wantDigest {
				t.Fatalf("hand-assembled manifest has digest %s, runid-oci digest computes %s", digest, wantDigest)
			}
			text := mustTool(t, 0, "", runidBin, args("verify", tg.flags, ref, "--declaration", decl)...)
			if !strings.Contains(text.stdout, digest) {
				t.Errorf("verify text output does not name %s:\n%s", digest, text.stdout)
			}
			js := mustTool(t, 0, "", runidBin, args("verify", append(tg.flags, "-o", "json"), ref)...)
			if failed := failedChecks(t, js.stdout); len(failed) != 0 {
				t.Errorf("failed checks %q", failed)
			}
		})
	}
}

// TestHandAssemblyWithoutCoreRoleIsRejected: the same hand assembly without
// the runtime role does not verify (exit 3, check role-accounted).
func TestHandAssemblyWithoutCoreRoleIsRejected(t *testing.T) {
	oras := clitools.Oras(t)
	for _, tg := range orasTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ref, _ := assembleByHand(t, oras, tg, "no-runtime", "runtime")
			r := mustTool(t, exitNotVerify, "", runidBin, args("verify", append(tg.flags, "-o", "json"), ref)...)
			failed := failedChecks(t, r.stdout)
			if !slices.Contains(failed, "role-accounted runtime") {
				t.Errorf("failed checks %q, want role-accounted runtime", failed)
			}
			if !strings.Contains(r.stderr, "does not verify") {
				t.Errorf("stderr does not say it does not verify:\n%s", r.stderr)
			}
		})
	}
}

// TestOrasPushIsRejected: oras push with --artifact-type and --config makes
// an otherwise identical artifact, but it always stamps the
// org.opencontainers.image.created annotation, which an identity must not
// have: runid-oci verify rejects it with the check no-created, and only that.
func TestOrasPushIsRejected(t *testing.T) {
	oras := clitools.Oras(t)
	for _, tg := range orasTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir, meta := t.TempDir(), t.TempDir()
			doc, _ := handIdentity(t, dir, "")
			docPath := filepath.Join(meta, "document.json")
			if err := os.WriteFile(docPath, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			annotations := map[string]any{}
			files := []string{}
			for _, c := range handComponents {
				annotations[c.name] = map[string]string{"dev.runid.role": c.role}
				files = append(files, c.name+":"+c.mediaType)
			}
			annPath := filepath.Join(meta, "annotations.json")
			b, _ := json.Marshal(annotations)
			if err := os.WriteFile(annPath, b, 0o644); err != nil {
				t.Fatal(err)
			}
			ref := tg.repo("oras-push") + ":v1"
			pushArgs := append(args("push", tg.flags, ref,
				"--artifact-type", "application/vnd.runid.identity.v1",
				"--config", docPath+":application/vnd.runid.identity.v1+json",
				"--annotation-file", annPath), files...)
			mustTool(t, 0, dir, oras, pushArgs...)

			r := mustTool(t, exitNotVerify, "", runidBin, args("verify", append(tg.flags, "-o", "json"), ref)...)
			failed := failedChecks(t, r.stdout)
			if len(failed) != 1 || failed[0] != "no-created" {
				t.Errorf("failed checks %q, want only no-created", failed)
			}
			text := mustTool(t, exitNotVerify, "", runidBin, args("verify", tg.flags, ref)...)
			if !strings.Contains(text.stdout, "no-created") {
				t.Errorf("text report does not name no-created:\n%s", text.stdout)
			}
		})
	}
}
