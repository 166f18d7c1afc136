package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull"
)

func TestDiscoverCommand(t *testing.T) {
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			comp := pushExample(t, st, "minimal", "disc", "v1")
			files := outputFiles(t, []string{"a.txt", "b.txt"}, map[string]string{"a.txt": "a", "b.txt": "b"})
			var recs []string
			for i := range 4 {
				r := mustRun(t, 0, args("attach", st.flags, st.ref("disc", "v1"), files[i%2], "--status", "succeeded",
					"--instance-id", fmt.Sprint(i))...)
				recs = append(recs, strings.TrimSpace(r.stdout))
			}
			// A referrer of a record: the tree has two levels.
			mustRun(t, 0, args("attach", st.flags, st.ref("disc", "v1"), files[0])...)

			text := mustRun(t, 0, args("discover", st.flags, st.ref("disc", "v1"))...).stdout
			if !strings.HasPrefix(text, st.ref("disc", comp.Digest().String())+" (identity)\n") {
				t.Errorf("first line of:\n%s", text)
			}
			for _, d := range recs {
				if !strings.Contains(text, "output  "+d+"  ") {
					t.Errorf("record %s missing from:\n%s", d, text)
				}
			}
			if !strings.Contains(text, "succeeded  files: a.txt") || strings.Contains(text, "truncated") {
				t.Errorf("tree text:\n%s", text)
			}

			// Bounded: two shown, the rest counted and said.
			cut := mustRun(t, 0, args("discover", st.flags, st.ref("disc", "v1"), "--max-referrers", "2")...).stdout
			if strings.Count(cut, "output  ") != 2 || !strings.Contains(cut, "… and at least 3 more referrers not shown (truncated)") ||
				!strings.Contains(cut, "The listing is truncated") {
				t.Errorf("truncated tree:\n%s", cut)
			}
			tree := decodeJSON[pull.Tree](t, mustRun(t, 0, args("discover", st.flags, st.ref("disc", "v1"), "--max-referrers", "2", "-o", "json")...).stdout)
			if len(tree.Referrers) != 2 || !tree.Truncated || tree.Omitted != 3 || !tree.Incomplete || tree.Nodes != 3 {
				t.Errorf("truncated JSON: %d referrers, truncated %v, omitted %d, nodes %d", len(tree.Referrers), tree.Truncated, tree.Omitted, tree.Nodes)
			}

			filtered := decodeJSON[pull.Tree](t, mustRun(t, 0, args("discover", st.flags, st.ref("disc", "v1"), "--artifact-type", "application/x-none", "-o", "json")...).stdout)
			if len(filtered.Referrers) != 0 {
				t.Errorf("filter left %d referrers", len(filtered.Referrers))
			}
		})
	}
}

func TestDiscoverCommandErrors(t *testing.T) {
	st := stores(t)[0]
	pushExample(t, st, "minimal", "derr", "v1")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"depth zero", args("discover", st.flags, st.ref("derr", "v1"), "--depth", "0"), exitUsage, "--depth"},
		{"negative cap", args("discover", st.flags, st.ref("derr", "v1"), "--max-referrers", "-1"), exitUsage, "--max-referrers"},
		{"missing", args("discover", st.flags, st.ref("derr", "sha256:"+strings.Repeat("2", 64))), exitError, "not found"},
		{"no tag", args("discover", st.flags, st.ref("derr", "")), exitUsage, "no tag or digest"},
		{"no target", []string{"discover"}, exitUsage, "TARGET"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRun(t, tc.code, tc.args...)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tc.msg)
			}
		})
	}
}

// orasNode is a node of "oras discover --format json".
type orasNode struct {
	Digest       string     `json:"digest"`
	ArtifactType string     `json:"artifactType"`
	Referrers    []orasNode `json:"referrers"`
}

// edge is one subject → referrer edge of a referrers graph, with the
// referrer's artifactType.
type edge struct{ from, to, artifactType string }

func orasEdges(n orasNode) []edge {
	var out []edge
	for _, c := range n.Referrers {
		out = append(out, edge{n.Digest, c.Digest, c.ArtifactType})
		out = append(out, orasEdges(c)...)
	}
	return out
}

func runidEdges(n *pull.Node) []edge {
	var out []edge
	for _, c := range n.Referrers {
		out = append(out, edge{n.Digest.String(), c.Digest.String(), c.ArtifactType})
		out = append(out, runidEdges(c)...)
	}
	return out
}

func sortEdges(es []edge) []edge {
	slices.SortFunc(es, func(a, b edge) int { return strings.Compare(a.from+a.to, b.from+b.to) })
	return es
}

// TestOrasDiscoverSameGraph: the pinned oras CLI and runid-oci discover show
// the same referrers graph of an identity (output records attached by
// runid-oci, one of them with a referrer of its own, and an artifact
// attached by oras attach), and the artifact oras attached shows in
// runid-oci discover. On go-containerregistry's own registry (ggcr-raw,
// without testregistry's conformance fixes), oras shows the artifactType
// the registry lists, which is the config media type; runid-oci shows the
// one in the manifest.
func TestOrasDiscoverSameGraph(t *testing.T) {
	oras := clitools.Oras(t)
	fixed := testregistry.StartGGCR(t)
	raw := testregistry.Serve(t, ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0))))
	targets := append(orasTargets(t),
		orasTarget{name: "ggcr", flags: []string{"--plain-http"}, repo: func(n string) string { return fixed.Host + "/" + n }},
		orasTarget{name: "ggcr-raw", flags: []string{"--plain-http"}, repo: func(n string) string { return raw.Host + "/" + n }})
	// What go-containerregistry lists as artifactType: the config media type.
	rawListed := map[string]string{
		mediatype.OutputRecord:           mediatype.OutputDocument,
		"application/vnd.example.report": ocispec.MediaTypeEmptyJSON,
		"application/vnd.example.note":   ocispec.MediaTypeEmptyJSON,
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			dir := t.TempDir()
			decl := exampleDecl("minimal")
			idDigest := strings.TrimSpace(mustTool(t, 0, "", runidBin, args("push", tg.flags, tg.repo("runs")+":v1", decl)...).stdout)
			idRef := tg.repo("runs") + "@" + idDigest
			out := filepath.Join(dir, "answer.md")
			if err := os.WriteFile(out, []byte("Canberra.\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var recs []string
			for i := range 2 {
				r := mustTool(t, 0, "", runidBin, args("attach", tg.flags, idRef, out, "--instance-id", fmt.Sprint(i))...)
				recs = append(recs, strings.TrimSpace(r.stdout))
			}
			// oras attaches a report to the identity, and a note to a record.
			report := filepath.Join(dir, "report.txt")
			if err := os.WriteFile(report, []byte("a report made with oras\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			mustTool(t, 0, dir, oras, args("attach", tg.flags, "--artifact-type", "application/vnd.example.report", idRef, "report.txt")...)
			mustTool(t, 0, dir, oras, args("attach", tg.flags, "--artifact-type", "application/vnd.example.note", tg.repo("runs")+"@"+recs[0], "report.txt")...)

			o := mustTool(t, 0, "", oras, args("discover", tg.flags, "--format", "json", idRef)...)
			var on orasNode
			if err := json.Unmarshal([]byte(o.stdout), &on); err != nil {
				t.Fatalf("oras discover JSON: %v\n%s", err, o.stdout)
			}
			r := mustTool(t, 0, "", runidBin, args("discover", tg.flags, "-o", "json", idRef)...)
			var tree pull.Tree
			if err := json.Unmarshal([]byte(r.stdout), &tree); err != nil {
				t.Fatalf("runid-oci discover JSON: %v\n%s", err, r.stdout)
			}
			oe, re := sortEdges(orasEdges(on)), sortEdges(runidEdges(tree.Node))
			if len(oe) != 4 || len(re) != len(oe) {
				t.Fatalf("oras shows %d edges, runid-oci %d; want 4 each\noras: %v\nrunid-oci: %v", len(oe), len(re), oe, re)
			}
			for i := range oe {
				if oe[i].from != re[i].from || oe[i].to != re[i].to {
					t.Errorf("edge %d: oras %s → %s, runid-oci %s → %s", i, oe[i].from, oe[i].to, re[i].from, re[i].to)
				}
				want := re[i].artifactType
				if tg.name == "ggcr-raw" {
					want = rawListed[want]
				}
				if oe[i].artifactType != want {
					t.Errorf("edge %d (%s): oras artifactType %q, runid-oci %q", i, oe[i].to, oe[i].artifactType, re[i].artifactType)
				}
			}
			// The artifact oras attached shows in runid-oci discover, as a
			// referrer that is not a runid record.
			var found bool
			for _, c := range tree.Referrers {
				if c.ArtifactType == "application/vnd.example.report" && c.Kind == pull.KindOther && c.Error == "" {
					found = true
				}
			}
			if !found {
				t.Errorf("the oras-attached report is not in runid-oci discover:\n%s", r.stdout)
			}
			text := mustTool(t, 0, "", runidBin, args("discover", tg.flags, idRef)...).stdout
			if !strings.Contains(text, "application/vnd.example.report") || !strings.Contains(text, "application/vnd.example.note") {
				t.Errorf("tree text lacks the oras artifacts:\n%s", text)
			}
		})
	}
}

// TestOrasAttachedOutputRecordIsChecked: an artifact attached with oras
// under the output record artifactType, but without an output document, is
// listed by runid-oci discover as an output that does not follow the rules.
func TestOrasAttachedOutputRecordIsChecked(t *testing.T) {
	oras := clitools.Oras(t)
	reg := testregistry.StartDistribution(t)
	repo := reg.Host + "/runs"
	idDigest := strings.TrimSpace(mustTool(t, 0, "", runidBin, "push", "--plain-http", repo+":v1", exampleDecl("minimal")).stdout)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "out.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustTool(t, 0, dir, oras, "attach", "--plain-http", "--artifact-type", mediatype.OutputRecord, repo+"@"+idDigest, "out.txt")
	tree := decodeJSON[pull.Tree](t, mustTool(t, 0, "", runidBin, "discover", "--plain-http", "-o", "json", repo+"@"+idDigest).stdout)
	if len(tree.Referrers) != 1 || tree.Referrers[0].Kind != pull.KindOutput || !strings.Contains(tree.Referrers[0].Error, "config media type") {
		t.Fatalf("referrers %+v", tree.Referrers)
	}
	text := mustTool(t, 0, "", runidBin, "discover", "--plain-http", repo+"@"+idDigest).stdout
	if !strings.Contains(text, "! error: invalid output record") {
		t.Errorf("tree text:\n%s", text)
	}
}
