package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPullWritesDeclaration: pull writes runid.yaml beside the components,
// and "runid-oci digest" of it gives the identity digest, for every example
// from a layout and from a registry.
func TestPullWritesDeclaration(t *testing.T) {
	all := stores(t)
	for _, st := range []store{all[0], all[1]} {
		for _, ex := range examples {
			t.Run(st.name+"/"+ex, func(t *testing.T) {
				comp := pushExample(t, st, ex, "decl-"+ex, "v1")
				dir := filepath.Join(t.TempDir(), "run")
				r := mustRun(t, 0, args("pull", st.flags, st.ref("decl-"+ex, "v1"), "-o", dir)...)
				decl := filepath.Join(dir, "runid.yaml")
				if !strings.Contains(r.stdout, "runid-oci digest "+decl) {
					t.Errorf("pull output does not say how to digest the declaration:\n%s", r.stdout)
				}
				got := strings.TrimSpace(mustRun(t, 0, "digest", decl).stdout)
				if got != comp.Digest().String() {
					data, _ := os.ReadFile(decl)
					t.Fatalf("digest of the pulled declaration = %s, want the identity %s\n%s", got, comp.Digest(), data)
				}
				res := decodeJSON[pullResult](t, mustRun(t, 0, args("pull", st.flags, st.ref("decl-"+ex, "v1"), "-o", dir, "--overwrite", "--format", "json")...).stdout)
				if res.Declaration != decl {
					t.Errorf("JSON declaration = %q, want %q", res.Declaration, decl)
				}
			})
		}
	}
}

// TestPullDeclarationWithheld: a withheld component is declared withheld and
// its file is not written; the output says so, and once its file is put at
// its name the declaration digests, with the owner's secret, to the
// identity.
func TestPullDeclarationWithheld(t *testing.T) {
	w := newWithheldCLIRun(t)
	layout := filepath.Join(t.TempDir(), "runs")
	id := strings.TrimSpace(mustRun(t, 0, "push", "--oci-layout", layout+":v1", w.decl, "--withhold-secret-file", w.secretFile, "--reveal-dir", t.TempDir()).stdout)
	dir := filepath.Join(t.TempDir(), "run")
	r := mustRun(t, 0, "pull", "--oci-layout", layout+":v1", "-o", dir)
	for _, want := range []string{"2 withheld component(s)", "input/case.json", "system-prompt/escalation.md", "--withhold-secret-file"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("pull output does not name %q:\n%s", want, r.stdout)
		}
	}
	decl := filepath.Join(dir, "runid.yaml")
	data, err := os.ReadFile(decl)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), "withheld: true") != 2 {
		t.Errorf("declaration does not declare the two components withheld:\n%s", data)
	}
	// Without the withheld files the declaration cannot be built.
	mustRun(t, exitError, "digest", decl, "--withhold-secret-file", w.secretFile)
	for name, from := range map[string]string{"system-prompt/escalation.md": w.promptFile, "input/case.json": w.inputFile} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.TrimSpace(mustRun(t, 0, "digest", decl, "--withhold-secret-file", w.secretFile).stdout); got != id {
		t.Fatalf("digest with the withheld files = %s, want the identity %s\n%s", got, id, data)
	}
}

// TestPullDeclarationFlag: --declaration names the file or, empty, writes
// none; a name that is a component's, or an existing file without
// --overwrite, fails before anything is written.
func TestPullDeclarationFlag(t *testing.T) {
	st := stores(t)[0]
	pushExample(t, st, "minimal", "declflag", "v1")
	ref := st.ref("declflag", "v1")
	base := t.TempDir()

	dir := filepath.Join(base, "named")
	mustRun(t, 0, args("pull", st.flags, ref, "-o", dir, "--declaration", "decl/run.yaml")...)
	if _, err := os.Stat(filepath.Join(dir, "decl", "run.yaml")); err != nil {
		t.Errorf("--declaration decl/run.yaml: %v", err)
	}

	dir = filepath.Join(base, "none")
	mustRun(t, 0, args("pull", st.flags, ref, "-o", dir, "--declaration", "")...)
	if _, err := os.Stat(filepath.Join(dir, "runid.yaml")); !os.IsNotExist(err) {
		t.Errorf(`--declaration "": runid.yaml: %v, want none`, err)
	}

	dir = filepath.Join(base, "clash")
	r := mustRun(t, exitError, args("pull", st.flags, ref, "-o", dir, "--declaration", "input/messages.json")...)
	if !strings.Contains(r.stderr, `the component "input/messages.json"`) {
		t.Errorf("declaration named as a component: stderr %q", r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a failed pull left %s: %v", dir, err)
	}

	dir = filepath.Join(base, "exists")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "runid.yaml"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, exitError, args("pull", st.flags, ref, "-o", dir)...)
	if b, _ := os.ReadFile(filepath.Join(dir, "runid.yaml")); string(b) != "mine\n" {
		t.Errorf("an existing runid.yaml was replaced without --overwrite: %q", b)
	}
	mustRun(t, 0, args("pull", st.flags, ref, "-o", dir, "--overwrite")...)
	if got := strings.TrimSpace(mustRun(t, 0, "digest", filepath.Join(dir, "runid.yaml")).stdout); got != packDigest(t, exampleDecl("minimal")) {
		t.Errorf("digest after --overwrite = %s", got)
	}
}
