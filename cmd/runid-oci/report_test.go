package main

import (
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/pull"
)

// TestReportCommand: report on each store kind, signed with a key made by
// the CLI, against another run, and attached to the identity.
func TestReportCommand(t *testing.T) {
	priv, pub := newCLIKey(t)
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			comp := pushExample(t, st, "rag-agent", "runs", "v1")
			pushExample(t, st, "minimal", "runs", "v2")
			mustRun(t, 0, args("sign", st.flags, st.ref("runs", "v1"), "--key", priv)...)
			out := filepath.Join(t.TempDir(), "report.html")
			r := mustRun(t, 0, args("report", st.flags, st.ref("runs", "v1"), "--key", pub, "--against", st.ref("runs", "v2"), "--out", out, "--attach", "-o", "json")...)
			res := decodeJSON[reportResult](t, r.stdout)
			if !res.Verified || res.Identity != comp.Identity.Digest() || res.Attached == nil || res.Size == 0 {
				t.Fatalf("result %+v", res)
			}
			page, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			text := html.UnescapeString(string(page))
			for _, want := range []string{"Verdict: <span class=\"word\">verified", "cosign verify --key " + pub, "The two runs differ.", comp.Identity.Digest().String()} {
				if !strings.Contains(text, want) {
					t.Errorf("report lacks %q", want)
				}
			}
			// The report is now an output record of the identity.
			tree, err := pull.Discover(t.Context(), st.open(t, "runs"), comp.Identity.Digest().String(), pull.DiscoverOptions{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			tree.Walk(func(n *pull.Node, _ int) {
				for _, f := range n.Files {
					if n.Kind == pull.KindOutput && n.Digest == res.Attached.Digest && f.MediaType == "text/html" && f.Annotations["org.opencontainers.image.title"] == "report.html" {
						found = true
					}
				}
			})
			if !found {
				t.Fatal("the attached report is not an output record of the identity")
			}
		})
	}
}

// TestReportStdoutAndExit: without --out the HTML goes to stdout; an
// identity signed by no key exits 3 with the report written all the same.
func TestReportStdoutAndExit(t *testing.T) {
	_, pub := newCLIKey(t)
	dir := filepath.Join(t.TempDir(), "runs")
	mustRun(t, 0, "push", "--oci-layout", dir+":v1", exampleDecl("minimal"))
	r := mustRun(t, 0, "report", "--oci-layout", dir+":v1")
	if !strings.HasPrefix(r.stdout, "<!DOCTYPE html>") || !strings.Contains(r.stdout, ">verified<") {
		t.Fatalf("stdout is not the report:\n%.300s", r.stdout)
	}
	r = mustRun(t, 3, "report", "--oci-layout", dir+":v1", "--key", pub)
	if !strings.Contains(r.stdout, ">does not verify<") || !strings.Contains(r.stdout, "no signature found") || !strings.Contains(r.stderr, "does not verify") {
		t.Fatalf("unsigned identity: stdout %.200s\nstderr %s", r.stdout, r.stderr)
	}
	// Usage errors name the flags.
	for _, bad := range [][]string{{"-o", "json"}, {"--attach"}} {
		r := mustRun(t, 2, append([]string{"report", "--oci-layout", dir + ":v1"}, bad...)...)
		if !strings.Contains(r.stderr, "--out") {
			t.Errorf("%v: %s", bad, r.stderr)
		}
	}
}

// TestReportPolicy: report --policy (repeatable, a file or a directory)
// decides as verify --policy: unsigned, the signer policy denies (exit 3,
// the denial and the policy files in the verdict, the same message verify
// prints); signed with the example release key, it is allowed; a policy that
// does not compile is refused before any report is written.
func TestReportPolicy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	ref := dir + ":rag"
	mustRun(t, 0, "push", "--oci-layout", ref, exampleDecl("rag-agent"))
	signer := filepath.Join(policiesDir, "required_signer.rego")
	const denial = "signature: the identity has no verified signature by a trusted key"
	out := filepath.Join(t.TempDir(), "report.html")
	mustRun(t, 3, "report", "--oci-layout", ref, "--policy", signer, "--policy", filepath.Join(policiesDir, "tools_pinned.rego"), "--out", out)
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text := html.UnescapeString(string(page))
	for _, want := range []string{"Policies: <span class=\"word\">denied", "<li><bdi>" + denial + "</bdi></li>", signer, "tools_pinned.rego"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if v := mustRun(t, 3, "verify", "--oci-layout", ref, "--policy", signer); !strings.Contains(v.stdout, denial) {
		t.Fatalf("verify --policy does not deny as the report does: %s", v.stdout)
	}

	t.Setenv("COSIGN_PASSWORD", "runid-oci-example")
	mustRun(t, 0, "sign", "--oci-layout", ref, "--key", filepath.Join(policiesDir, "keys", "release.key"))
	r := mustRun(t, 0, "report", "--oci-layout", ref, "--key", filepath.Join(policiesDir, "keys", "release.pub"), "--policy", policiesDir)
	if !strings.Contains(r.stdout, "Policies: <span class=\"word\">allowed") {
		t.Fatalf("signed: the policies do not allow:\n%s", r.stdout)
	}

	bad := filepath.Join(t.TempDir(), "bad.rego")
	if err := os.WriteFile(bad, []byte("package runid\ndeny contains x if {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := mustRun(t, 1, "report", "--oci-layout", ref, "--policy", bad); r.stdout != "" || !strings.Contains(r.stderr, "bad.rego") {
		t.Fatalf("a policy that does not compile: stdout %.100q stderr %s", r.stdout, r.stderr)
	}
}
