package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull"
)

// outputFiles writes files (name → content) into a new directory and
// returns their paths in the order given by names.
func outputFiles(t *testing.T, names []string, contents map[string]string) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte(contents[n]), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestAttachCommand(t *testing.T) {
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			comp := pushExample(t, st, "minimal", "attach", "v1")
			files := outputFiles(t, []string{"answer.md", "table.csv"}, map[string]string{"answer.md": "Canberra.\n", "table.csv": "a,b\n"})
			facts := filepath.Join(t.TempDir(), "facts.json")
			if err := os.WriteFile(facts, []byte(`{"tokens":{"in":12,"out":3},"instanceId":"overridden"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			r := mustRun(t, 0, args("attach", st.flags, st.ref("attach", "v1"), files[0], files[1]+":text/csv",
				"--instance-id", "run-7", "--started-at", "2025-03-01T10:00:00Z", "--ended-at", "2025-03-01T10:00:02Z",
				"--status", "succeeded", "--exit-code", "0", "--served-model", "gpt-4o-mini-2024-07-18",
				"--fact", "host=worker-3", "--facts", facts, "--annotation", "com.example.team=search", "-o", "json")...)
			res := decodeJSON[attachResult](t, r.stdout)
			if res.Subject.Digest != comp.Digest() || res.ArtifactType != mediatype.OutputRecord || res.IndexAttempts < 1 || res.Created == "" {
				t.Fatalf("attach result %+v", res)
			}
			if len(res.Files) != 2 || res.Files[0].Name != "answer.md" || res.Files[1].Name != "table.csv" || res.Files[1].MediaType != "text/csv" ||
				res.Files[0].MediaType != mediatype.Output {
				t.Errorf("files %+v", res.Files)
			}

			// Text mode prints the digest only.
			text := mustRun(t, 0, args("attach", st.flags, st.ref("attach", comp.Digest().String()), files[0])...)
			second := strings.TrimSpace(text.stdout)
			if !strings.HasPrefix(second, "sha256:") || strings.Contains(second, "\n") {
				t.Errorf("text output %q, want a digest", text.stdout)
			}

			d := mustRun(t, 0, args("discover", st.flags, st.ref("attach", "v1"), "-o", "json")...)
			tree := decodeJSON[pull.Tree](t, d.stdout)
			if tree.Kind != pull.KindIdentity || len(tree.Referrers) != 2 {
				t.Fatalf("discover: kind %s, %d referrers", tree.Kind, len(tree.Referrers))
			}
			var rec *pull.Node
			for _, n := range tree.Referrers {
				if n.Digest == res.Digest {
					rec = n
				}
			}
			if rec == nil || rec.Kind != pull.KindOutput || rec.Error != "" || len(rec.Files) != 2 {
				t.Fatalf("record node %+v", rec)
			}
			ex := rec.Execution
			if ex["instanceId"] != "run-7" || ex["host"] != "worker-3" || fmt.Sprint(ex["exitCode"]) != "0" || ex["status"] != "succeeded" {
				t.Errorf("execution facts %v", ex)
			}
			if tokens, ok := ex["tokens"].(map[string]any); !ok || fmt.Sprint(tokens["in"]) != "12" {
				t.Errorf("facts from --facts: %v", ex["tokens"])
			}
			if rec.Annotations["com.example.team"] != "search" {
				t.Errorf("annotations %v", rec.Annotations)
			}
		})
	}
}

func TestAttachCommandErrors(t *testing.T) {
	st := stores(t)[0]
	comp := pushExample(t, st, "minimal", "bad", "v1")
	files := outputFiles(t, []string{"a.txt"}, map[string]string{"a.txt": "a"})
	rec := strings.TrimSpace(mustRun(t, 0, args("attach", st.flags, st.ref("bad", "v1"), files[0])...).stdout)
	notJSON := filepath.Join(t.TempDir(), "facts.json")
	if err := os.WriteFile(notJSON, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no identity argument", args("attach", st.flags), exitUsage, "IDENTITY"},
		{"identity does not exist", args("attach", st.flags, st.ref("bad", "sha256:"+strings.Repeat("0", 64)), files[0]), exitError, "not found"},
		{"tag does not exist", args("attach", st.flags, st.ref("bad", "nope"), files[0]), exitError, "not found"},
		{"not an identity", args("attach", st.flags, st.ref("bad", rec), files[0]), exitError, "not a run identity"},
		{"no tag or digest", args("attach", st.flags, st.ref("bad", ""), files[0]), exitUsage, "no tag or digest"},
		{"missing file", args("attach", st.flags, st.ref("bad", "v1"), files[0]+".missing"), exitError, "output file"},
		{"status", args("attach", st.flags, st.ref("bad", "v1"), "--status", "ok"), exitUsage, "status"},
		{"time", args("attach", st.flags, st.ref("bad", "v1"), "--started-at", "yesterday"), exitUsage, "startedAt"},
		{"ended before started", args("attach", st.flags, st.ref("bad", "v1"), "--started-at", "2025-01-02T00:00:00Z", "--ended-at", "2025-01-01T00:00:00Z"), exitUsage, "before"},
		{"fact without value", args("attach", st.flags, st.ref("bad", "v1"), "--fact", "x"), exitUsage, "KEY=VALUE"},
		{"facts not JSON", args("attach", st.flags, st.ref("bad", "v1"), "--facts", notJSON), exitUsage, "--facts"},
		{"external missing", args("attach", st.flags, st.ref("bad", "v1"), "--external", notJSON+".nope"), exitUsage, "--external"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRun(t, tc.code, tc.args...)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tc.msg)
			}
		})
	}
	// Only the one good record was attached.
	tree := decodeJSON[pull.Tree](t, mustRun(t, 0, args("discover", st.flags, st.ref("bad", comp.Digest().String()), "-o", "json")...).stdout)
	if len(tree.Referrers) != 1 || tree.Referrers[0].Digest.String() != rec {
		t.Errorf("referrers after failed attaches: %d", len(tree.Referrers))
	}
}

// TestAttachTwentyProcesses attaches twenty records to one identity at
// once, from twenty separate runid-oci processes, on a registry without the
// referrers API: each process rewrites the sha256-<hex> referrers index, so
// updates get lost and must be detected and pushed again. Afterwards every
// record must be discoverable.
func TestAttachTwentyProcesses(t *testing.T) {
	reg := testregistry.StartDistribution(t)
	st := store{flags: []string{"--plain-http"}, ref: reg.Ref}
	comp := pushExample(t, st, "minimal", "runs", "v1")
	ref := reg.Ref("runs", comp.Digest().String())
	const n = 20
	dir := t.TempDir()
	type outcome struct {
		res    attachResult
		err    error
		stderr string
	}
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		file := filepath.Join(dir, fmt.Sprintf("out-%02d.txt", i))
		if err := os.WriteFile(file, []byte(fmt.Sprintf("output of instance %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := clitools.Command(t, runidBin, "attach", "--plain-http", ref, file,
			"--instance-id", fmt.Sprintf("instance-%02d", i), "-o", "json")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := cmd.Run()
			outcomes[i].err, outcomes[i].stderr = err, errb.String()
			if err == nil {
				outcomes[i].res = decodeJSON[attachResult](t, out.String())
			}
		}()
	}
	close(start)
	wg.Wait()
	attempts := map[int]int{}
	for i, o := range outcomes {
		if o.err != nil {
			t.Errorf("process %d: %v\n%s", i, o.err, o.stderr)
			continue
		}
		attempts[o.res.IndexAttempts]++
	}
	t.Logf("index pushes per process → number of processes: %v", attempts)

	tree := decodeJSON[pull.Tree](t, mustRun(t, 0, "discover", "--plain-http", ref, "-o", "json").stdout)
	listed := map[string]bool{}
	for _, c := range tree.Referrers {
		if c.Kind == pull.KindOutput && c.Error == "" {
			listed[c.Digest.String()] = true
		}
	}
	for i, o := range outcomes {
		if o.err == nil && !listed[o.res.Digest.String()] {
			t.Errorf("record of process %d (%s) is not discoverable", i, o.res.Digest)
		}
	}
	if len(listed) != n {
		t.Errorf("%d records discoverable, want %d", len(listed), n)
	}
}

// TestPullAndVerifyOutputRecord: pull and verify of an output record check
// the record and its identity; pull writes the record's files; a damaged
// identity makes both report "does not verify".
func TestPullAndVerifyOutputRecord(t *testing.T) {
	st := stores(t)[0] // the OCI layout, so that a blob can be damaged
	comp := pushExample(t, st, "minimal", "pv", "v1")
	files := outputFiles(t, []string{"answer.md"}, map[string]string{"answer.md": "Canberra.\n"})
	rec := strings.TrimSpace(mustRun(t, 0, args("attach", st.flags, st.ref("pv", "v1"), files[0], "--status", "succeeded")...).stdout)

	mustRun(t, 0, args("verify", st.flags, st.ref("pv", rec))...)
	dir := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, 0, args("pull", st.flags, st.ref("pv", rec), "--dir", dir)...)
	if b, err := os.ReadFile(filepath.Join(dir, "answer.md")); err != nil || string(b) != "Canberra.\n" {
		t.Fatalf("answer.md: %q, %v\n%s", b, err, r.stdout)
	}
	if !strings.Contains(r.stdout, filepath.Join(dir, "answer.md")) || !strings.Contains(r.stdout, "1 files") {
		t.Errorf("pull output:\n%s", r.stdout)
	}

	layout := strings.TrimSuffix(st.ref("pv", ""), "/")
	testutil.TamperBlob(t, layout, comp.Identity.Manifest.Layers[0].Digest)
	v := mustRun(t, exitNotVerify, args("verify", st.flags, st.ref("pv", rec))...)
	if !strings.Contains(v.stdout+v.stderr, "identity") {
		t.Errorf("verify of a record whose identity is damaged:\n%s\n%s", v.stdout, v.stderr)
	}
	mustRun(t, exitNotVerify, args("pull", st.flags, st.ref("pv", rec), "--dir", filepath.Join(t.TempDir(), "out2"))...)
}
