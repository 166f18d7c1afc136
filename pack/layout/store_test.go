package layout

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pull"
)

func TestPushAttachSignDiscover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	seed(t, dir, 1)
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var reports []report
	for i, kind := range []string{"push", "attach", "attach", "sign", "push"} {
		line, err := write(t.Context(), s, kind, i%1)
		if kind == "push" {
			line, err = write(t.Context(), s, kind, i)
		}
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		reports = append(reports, parseReports(line)...)
	}
	checkReports(t, dir, reports)

	// Discover finds both records through Predecessors.
	tree, err := pull.Discover(t.Context(), s, "base-0", pull.DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tree.Referrers); n != 2 {
		t.Errorf("discover base-0: %d referrers, want 2", n)
	}

	// oras-go's own store reads the layout: every tag, and the records
	// through the segments.
	o, err := oci.NewWithContext(t.Context(), dir)
	if err != nil {
		t.Fatalf("oras-go opens the layout: %v", err)
	}
	for _, r := range reports {
		if r.kind == "push" {
			if _, err := o.Resolve(t.Context(), r.a); err != nil {
				t.Errorf("oras-go resolves %s: %v", r.a, err)
			}
		}
		if r.kind == "attach" {
			preds, _ := o.Predecessors(t.Context(), ocispec.Descriptor{Digest: digestOf(r.a)})
			if !containsDigest(preds, r.b) {
				t.Errorf("oras-go does not see record %s of %s", r.b, r.a)
			}
		}
	}
}

func TestOrasCLIReadsLayout(t *testing.T) {
	orasBin := clitools.Oras(t)
	dir := filepath.Join(t.TempDir(), "layout")
	seed(t, dir, 0)
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	line, err := write(t.Context(), s, "attach", 0)
	if err != nil {
		t.Fatal(err)
	}
	r := parseReports(line)[0]
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), orasBin, "pull", "--oci-layout", dir+":base-0", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oras pull: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(out, "input", "messages.json")); err != nil {
		t.Errorf("oras pull did not extract input/messages.json: %v", err)
	}
	cmd = exec.CommandContext(t.Context(), orasBin, "discover", "--oci-layout", dir+"@"+r.a, "--format", "json")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("oras discover: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), r.b) {
		t.Errorf("oras discover does not list record %s:\n%s", r.b, b)
	}
	// An untagged manifest written recently resolves by digest in oras.
	cmd = exec.CommandContext(t.Context(), orasBin, "discover", "--oci-layout", dir+"@"+r.b, "--format", "json")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("oras discover of the untagged record %s: %v\n%s", r.b, err, b)
	}
}

func TestOpensOrasLayout(t *testing.T) {
	// A layout oras-go wrote (tags and referrers in index.json only) is
	// indexed at the first open.
	dir := filepath.Join(t.TempDir(), "layout")
	o, err := oci.NewWithContext(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	id, err := pack.Push(t.Context(), o, composeRun(t, 1), pack.PushOptions{Tag: "one"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "out.txt")
	os.WriteFile(p, []byte("out"), 0o644)
	rec, err := referrer.Attach(t.Context(), o, "one", []referrer.OutputFile{{Path: p}}, referrer.AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.Resolve(t.Context(), "one"); err != nil || d.Digest != id.Descriptor.Digest {
		t.Fatalf("resolve one: %v %v", d.Digest, err)
	}
	preds, err := s.Predecessors(t.Context(), id.Descriptor)
	if err != nil || !containsDigest(preds, rec.Descriptor.Digest.String()) {
		t.Fatalf("record not found: %v %v", preds, err)
	}
	if _, err := pack.Push(t.Context(), s, composeRun(t, 2), pack.PushOptions{Tag: "two"}); err != nil {
		t.Fatal(err)
	}
	checkReports(t, dir, []report{{kind: "push", a: "one", b: id.Descriptor.Digest.String()}, {kind: "attach", a: id.Descriptor.Digest.String(), b: rec.Descriptor.Digest.String()}})

	// An in-place rewrite by oras-go after ours is noticed and indexed.
	o2, err := oci.NewWithContext(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	id3, err := pack.Push(t.Context(), o2, composeRun(t, 3), pack.PushOptions{Tag: "three"})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(t.Context(), dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string]string{"three": id3.Descriptor.Digest.String(), "one": id.Descriptor.Digest.String()} {
		if d, err := s2.Resolve(t.Context(), tag); err != nil || d.Digest.String() != want {
			t.Errorf("resolve %s after oras-go wrote: %v %v", tag, d.Digest, err)
		}
	}
}

func TestSegmentsStaySmall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	s, err := Open(t.Context(), dir, Options{Create: true, recent: 2})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		c := composeRun(t, i)
		if _, err := pack.Push(t.Context(), s, c, pack.PushOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	idx, _, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	// 100 manifests, 2 recent: segments of 2 each, up to 15 per level.
	if len(idx.Manifests) > 2*(SegmentFanout-1)+4 {
		t.Errorf("index.json lists %d entries after %d pushes", len(idx.Manifests), n)
	}
	// Every manifest is reachable from index.json through the segments.
	seen := reachable(t, s, idx)
	for i := range n {
		if !seen[composeRun(t, i).Digest()] {
			t.Fatalf("identity %d not reachable from index.json", i)
		}
	}
}
