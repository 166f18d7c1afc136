package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/testregistry"
)

// shellBlock is one re-check block of a report: a claim, the note under
// it and its commands, as a reader copies them.
var shellBlock = regexp.MustCompile(`(?s)<div class="cmd">\s*<h3>(.*?)</h3>(?:<p class="muted">(.*?)</p>)?\s*<pre class="shell">(.*?)</pre>`)

// TestReportRecheckCommands runs the commands a report prints to re-check
// its claims, as a reader would: each block copied from the HTML into a
// POSIX shell (sh -e) with the real runid-oci, oras, cosign v2 and
// coreutils' sha256sum on PATH, in one working directory, in the order
// shown. The run is signed with a key and withholds two components; it is
// reported on an OCI layout directory, a layout tar and a registry, against
// another run. Every block must succeed; the blob checks print nothing, the
// digest check prints the identity digest, and the signature and reveal
// checks say they verified.
//
// Placeholders a reader fills in are filled in: REVEAL.json and FILE with a
// reveal written at push time and its component, REGISTRY/REPOSITORY (where
// a layout's signatures are copied for cosign) with a repository of a test
// registry. That registry speaks plain HTTP, unlike a reader's, so the
// commands naming it gain runid-oci's --to-plain-http and cosign's
// --allow-http-registry.
func TestReportRecheckCommands(t *testing.T) {
	oras, cosign := clitools.Oras(t), clitools.Cosign(t)
	bin := t.TempDir()
	for name, target := range map[string]string{"runid-oci": runidBin, "oras": oras, "cosign": cosign} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"sha256sum", "jq", "tar", "cut", "mkdir", "sh"} {
		clitools.System(t, tool)
	}
	priv, pub := newCLIKey(t)
	w := newWithheldCLIRun(t)
	reg := testregistry.StartDistribution(t)
	home := t.TempDir()
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+home,
		"TUF_ROOT="+filepath.Join(home, ".sigstore"), "COSIGN_EXPERIMENTAL=0", "SIGSTORE_NO_CACHE=1")

	for _, kind := range []string{"layout", "tar", "registry"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			var flags []string
			var ref func(tag string) string
			switch kind {
			case "registry":
				flags = []string{"--plain-http"}
				ref = func(tag string) string { return reg.Ref("recheck", tag) }
			default:
				flags = []string{"--oci-layout"}
				ref = func(tag string) string { return filepath.Join(dir, "runs") + ":" + tag }
			}
			reveals := filepath.Join(dir, "reveals")
			push := mustRun(t, 0, args("push", flags, ref("v1"), w.decl, "--withhold-secret-file", w.secretFile, "--reveal-dir", reveals, "-o", "json")...)
			mustRun(t, 0, args("push", flags, ref("v2"), exampleDecl("minimal"))...)
			mustRun(t, 0, args("sign", flags, ref("v1"), "--key", priv)...)
			var pushed struct {
				Digest string `json:"digest"`
			}
			if err := json.Unmarshal([]byte(push.stdout), &pushed); err != nil {
				t.Fatal(err)
			}
			id := pushed.Digest
			if id == "" {
				t.Fatalf("push printed no digest: %s", push.stdout)
			}
			if kind == "tar" {
				tarFile := filepath.Join(dir, "runs.tar")
				if out, err := exec.Command("tar", "-cf", tarFile, "-C", filepath.Join(dir, "runs"), ".").CombinedOutput(); err != nil {
					t.Fatalf("tar: %v\n%s", err, out)
				}
				ref = func(tag string) string { return tarFile + ":" + tag }
			}
			out := filepath.Join(dir, "report.html")
			mustRun(t, 0, args("report", flags, ref("v1"), "--key", pub, "--against", ref("v2"), "--out", out)...)
			page, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			blocks := shellBlock.FindAllStringSubmatch(string(page), -1)
			if len(blocks) < 6 {
				t.Fatalf("%d re-check blocks, want the verification, digest, blobs, signatures, reveal, referrers and diff", len(blocks))
			}
			revealFile := filepath.Join(reveals, strings.TrimPrefix(id, "sha256:"), "system-prompt", "escalation.md.reveal.json")
			work := t.TempDir()
			seen := map[string]bool{}
			for _, b := range blocks {
				claim, note, script := html.UnescapeString(b[1]), html.UnescapeString(b[2]), html.UnescapeString(b[3])
				script = strings.NewReplacer("REVEAL.json", revealFile, " FILE", " "+w.promptFile).Replace(script)
				if strings.Contains(script, "REGISTRY/REPOSITORY") {
					script = strings.ReplaceAll(script, " REGISTRY/REPOSITORY\n", " REGISTRY/REPOSITORY --to-plain-http\n")
					script = strings.ReplaceAll(script, "cosign verify ", "cosign verify --allow-http-registry ")
					script = strings.ReplaceAll(script, "REGISTRY/REPOSITORY", strings.TrimSuffix(reg.Ref("copied-"+kind, ""), "/"))
				}
				for _, tool := range []string{"runid-oci", "oras", "cosign", "sha256sum"} {
					if strings.Contains(script, tool+" ") {
						seen[tool] = true
					}
				}
				cmd := clitools.Command(t, "sh", "-e", "-c", script)
				cmd.Dir, cmd.Env = work, env
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				var ee *exec.ExitError
				if strings.HasPrefix(claim, "The differences") && errors.As(err, &ee) && ee.ExitCode() == diffDifferent {
					// The runs differ: diff exits 1 and lists the differences, as the note says.
					if !strings.Contains(note, "1 when they differ") || !strings.Contains(stdout.String(), "changed") {
						t.Errorf("%s: exit 1, note %q, stdout:\n%s", claim, note, stdout.String())
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v\n%s\nstdout:\n%s\nstderr:\n%s", claim, err, script, stdout.String(), stderr.String())
					continue
				}
				t.Logf("%s: ok\n%s", claim, script)
				switch {
				case strings.HasPrefix(claim, "Every component"):
					if stdout.Len() > 0 {
						t.Errorf("%s: the blob check printed %q, want nothing", claim, stdout.String())
					}
				case strings.HasPrefix(claim, "The identity digest"):
					if !strings.Contains(stdout.String(), strings.TrimPrefix(id, "sha256:")) || !strings.Contains(note, strings.TrimPrefix(id, "sha256:")) {
						t.Errorf("%s: printed %q, note %q; want %s", claim, stdout.String(), note, id)
					}
				case strings.HasPrefix(claim, "The identity is signed"):
					if !strings.Contains(stderr.String(), "The signatures were verified against the specified public key") {
						t.Errorf("%s: cosign said:\n%s", claim, stderr.String())
					}
				case strings.HasPrefix(claim, "A file is exactly"):
					if !strings.Contains(stdout.String(), "is exactly the withheld") {
						t.Errorf("%s: printed %q", claim, stdout.String())
					}
				}
			}
			for _, tool := range []string{"runid-oci", "oras", "cosign", "sha256sum"} {
				if !seen[tool] {
					t.Errorf("no re-check command uses %s", tool)
				}
			}
		})
	}
}
