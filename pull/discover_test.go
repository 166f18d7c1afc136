package pull_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// discIdentity pushes the minimal example identity, tagged run.
func discIdentity(t testing.TB, target oras.Target) ocispec.Descriptor {
	t.Helper()
	return testutil.Push(t, target, testutil.LoadExample(t, "minimal"), "run")
}

func discAttach(t testing.TB, target oras.Target, ref string, created time.Time, files map[string]string) referrer.AttachResult {
	t.Helper()
	res, err := referrer.Attach(context.Background(), target, ref, testutil.OutputFiles(t, files), referrer.AttachOptions{Created: created,
		Execution: map[string]any{spec.FactStatus: spec.StatusSucceeded}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// discPush pushes a manifest (with the empty config and layer) and returns
// its descriptor.
func discPush(t testing.TB, target oras.Target, artifactType string, subject *ocispec.Descriptor, annotations map[string]string) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	empty := ocispec.DescriptorEmptyJSON
	if err := target.Push(ctx, empty, bytes.NewReader(empty.Data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Fatal(err)
	}
	var subj *ocispec.Descriptor
	if subject != nil {
		subj = &ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	}
	return testutil.PushManifest(t, target, ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType, Config: empty, Layers: []ocispec.Descriptor{empty}, Subject: subj, Annotations: annotations})
}

func childOf(n *pull.Node, d digest.Digest) *pull.Node {
	for _, c := range n.Referrers {
		if c.Digest == d {
			return c
		}
	}
	return nil
}

func TestDiscover(t *testing.T) {
	for _, st := range testutil.ReferrerStores() {
		t.Run(st.Name, func(t *testing.T) {
			ctx := context.Background()
			target, open := st.Open(t)
			id := discIdentity(t, target)
			first := discAttach(t, target, "run", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), map[string]string{"answer.md": "Canberra"})
			second := discAttach(t, target, "run", time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), map[string]string{"a.txt": "a", "b.txt": "b"})
			sig := discPush(t, target, spec.BundleMediaType, &first.Descriptor, nil)
			other := discPush(t, target, "application/vnd.example.sbom", &id, map[string]string{"x": "y"})

			// An image in another repository, produced by the run.
			images := open("images")
			image := discPush(t, images, "", nil, map[string]string{"image": "1"})
			link, err := referrer.Link(ctx, images, image.Digest.String(), referrer.IdentityRef{Reference: id.Digest.String(), Repository: "registry.example/runs"},
				referrer.LinkOptions{IdentityStore: target})
			if err != nil {
				t.Fatal(err)
			}

			tree, err := pull.Discover(ctx, open("runs"), "run", pull.DiscoverOptions{Repository: "registry.example/runs"})
			if err != nil {
				t.Fatal(err)
			}
			if tree.Kind != pull.KindIdentity || tree.Digest != id.Digest || tree.Reference != "registry.example/runs@"+id.Digest.String() {
				t.Fatalf("root %s %s %s", tree.Kind, tree.Digest, tree.Reference)
			}
			if tree.Nodes != 5 || tree.Incomplete || len(tree.Referrers) != 3 {
				t.Fatalf("tree has %d nodes, %d referrers of the root, incomplete %v", tree.Nodes, len(tree.Referrers), tree.Incomplete)
			}
			// Sorted: outputs by creation time, then others.
			if tree.Referrers[0].Digest != first.Descriptor.Digest || tree.Referrers[1].Digest != second.Descriptor.Digest || tree.Referrers[2].Digest != other.Digest {
				t.Errorf("order %s %s %s", tree.Referrers[0].Digest, tree.Referrers[1].Digest, tree.Referrers[2].Digest)
			}
			out := tree.Referrers[0]
			// The artifactType comes from the manifest: go-containerregistry
			// lists the config media type there.
			if out.Kind != pull.KindOutput || out.ArtifactType != mediatype.OutputRecord || out.Error != "" {
				t.Errorf("output node kind %s artifactType %s error %q", out.Kind, out.ArtifactType, out.Error)
			}
			if len(out.Files) != 1 || out.Files[0].Annotations[mediatype.AnnotationTitle] != "answer.md" || out.Execution[spec.FactStatus] != spec.StatusSucceeded {
				t.Errorf("output node files %v execution %v", out.Files, out.Execution)
			}
			if len(out.Referrers) != 1 || out.Referrers[0].Digest != sig.Digest || out.Referrers[0].Kind != pull.KindSignature {
				t.Errorf("signature of the record: %+v", out.Referrers)
			}
			if n := tree.Referrers[2]; n.Kind != pull.KindOther || n.ArtifactType != "application/vnd.example.sbom" || n.Annotations["x"] != "y" {
				t.Errorf("other node %+v", n)
			}
			if len(tree.Identities) != 0 {
				t.Errorf("identities of an identity: %v", tree.Identities)
			}

			// From the image, the link and the identity that produced it.
			it, err := pull.Discover(ctx, open("images"), image.Digest.String(), pull.DiscoverOptions{})
			if err != nil {
				t.Fatal(err)
			}
			l := childOf(it.Node, link.Descriptor.Digest)
			if it.Kind != pull.KindOther || l == nil || l.Kind != pull.KindLink || l.Identity == nil || l.Identity.Digest != id.Digest {
				t.Fatalf("image tree: kind %s, link %+v", it.Kind, l)
			}
			if len(it.Identities) != 1 || it.Identities[0] != (spec.LinkedIdentity{Digest: id.Digest, Repository: "registry.example/runs"}) {
				t.Errorf("identities %v", it.Identities)
			}

			// A filter on the confirmed artifactType, at every level.
			ft, err := pull.Discover(ctx, open("runs"), id.Digest.String(), pull.DiscoverOptions{ArtifactType: mediatype.OutputRecord})
			if err != nil {
				t.Fatal(err)
			}
			if len(ft.Referrers) != 2 || len(ft.Referrers[0].Referrers) != 0 {
				t.Errorf("filtered: %d referrers, %d below the first", len(ft.Referrers), len(ft.Referrers[0].Referrers))
			}
		})
	}
}

func TestDiscoverBounds(t *testing.T) {
	for _, st := range testutil.ReferrerStores() {
		t.Run(st.Name, func(t *testing.T) {
			ctx := context.Background()
			target, _ := st.Open(t)
			discIdentity(t, target)
			var recs []digest.Digest
			for i := range 5 {
				r := discAttach(t, target, "run", time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC), map[string]string{"o.txt": strconv.Itoa(i)})
				recs = append(recs, r.Descriptor.Digest)
			}
			r0 := recs[0]
			sig := discPush(t, target, spec.SignatureArtifactType, &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: r0, Size: sizeOf(t, target, r0)}, nil)
			discPush(t, target, "application/vnd.example.note", &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: sig.Digest, Size: sig.Size}, nil)

			cases := []struct {
				name  string
				opts  pull.DiscoverOptions
				check func(t *testing.T, tr *pull.Tree)
			}{
				{name: "per-node cap", opts: pull.DiscoverOptions{MaxReferrersPerNode: 3}, check: func(t *testing.T, tr *pull.Tree) {
					if len(tr.Referrers) != 3 || !tr.Truncated || tr.Omitted != 2 || !tr.Incomplete {
						t.Errorf("%d referrers, truncated %v, omitted %d, incomplete %v", len(tr.Referrers), tr.Truncated, tr.Omitted, tr.Incomplete)
					}
				}},
				{name: "depth 1", opts: pull.DiscoverOptions{MaxDepth: 1}, check: func(t *testing.T, tr *pull.Tree) {
					if len(tr.Referrers) != 5 || tr.Incomplete {
						t.Fatalf("%d referrers, incomplete %v", len(tr.Referrers), tr.Incomplete)
					}
					for _, c := range tr.Referrers {
						if !c.DepthLimited || len(c.Referrers) != 0 {
							t.Errorf("%s: depthLimited %v, %d referrers", c.Digest, c.DepthLimited, len(c.Referrers))
						}
					}
				}},
				{name: "default depth reaches the note", opts: pull.DiscoverOptions{}, check: func(t *testing.T, tr *pull.Tree) {
					r := childOf(tr.Node, r0)
					if r == nil || len(r.Referrers) != 1 || len(r.Referrers[0].Referrers) != 1 || tr.Nodes != 8 {
						t.Errorf("nodes %d; record %+v", tr.Nodes, r)
					}
				}},
				{name: "node cap", opts: pull.DiscoverOptions{MaxNodes: 4}, check: func(t *testing.T, tr *pull.Tree) {
					if tr.Nodes != 4 || len(tr.Referrers) != 3 || !tr.Truncated || tr.Omitted != 2 || !tr.Incomplete {
						t.Errorf("nodes %d, %d referrers, truncated %v omitted %d", tr.Nodes, len(tr.Referrers), tr.Truncated, tr.Omitted)
					}
				}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					tr, err := pull.Discover(ctx, target, "run", tc.opts)
					if err != nil {
						t.Fatal(err)
					}
					tc.check(t, tr)
				})
			}
		})
	}
}

func sizeOf(t testing.TB, target oras.ReadOnlyTarget, d digest.Digest) int64 {
	t.Helper()
	desc, err := target.Resolve(context.Background(), d.String())
	if err != nil {
		t.Fatal(err)
	}
	return desc.Size
}

func TestDiscoverErrors(t *testing.T) {
	ctx := context.Background()
	target := testregistry.Repository(t, testregistry.StartDistribution(t), "runs")
	if _, err := pull.Discover(ctx, target, digest.FromString("nothing").String(), pull.DiscoverOptions{}); !errors.Is(err, pull.ErrNotFound) {
		t.Errorf("missing root: %v, want ErrNotFound", err)
	}
	if _, err := pull.Discover(ctx, target, "", pull.DiscoverOptions{}); !errors.Is(err, pull.ErrInvalidReference) {
		t.Errorf("empty reference: %v, want ErrInvalidReference", err)
	}
	// A source that can list neither referrers nor predecessors.
	type plainTarget struct{ oras.ReadOnlyTarget }
	if _, err := pull.Discover(ctx, plainTarget{target}, "run", pull.DiscoverOptions{}); !errors.Is(err, pull.ErrReferrers) {
		t.Errorf("plain target: %v, want ErrReferrers", err)
	}
}

// hostileIndex serves, for GET and HEAD of the referrers tag of each given
// subject, the given body as an image index; everything else goes to next.
type hostileIndex struct {
	next   http.Handler
	bodies map[string][]byte // tag → body
	hits   atomic.Int64
}

func (h *hostileIndex) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		i := strings.LastIndex(r.URL.Path, "/manifests/")
		if i >= 0 {
			if body, ok := h.bodies[r.URL.Path[i+len("/manifests/"):]]; ok {
				h.hits.Add(1)
				w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.Header().Set("Docker-Content-Digest", digest.FromBytes(body).String())
				if r.Method == http.MethodGet {
					w.Write(body)
				}
				return
			}
		}
	}
	h.next.ServeHTTP(w, r)
}

func indexOf(t testing.TB, descs ...ocispec.Descriptor) []byte {
	t.Helper()
	b, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: descs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tagOf(t testing.TB, d digest.Digest) string {
	t.Helper()
	tag, err := referrer.FallbackTag(d)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func TestDiscoverHostileIndex(t *testing.T) {
	ctx := context.Background()
	h := &hostileIndex{next: testregistry.NewDistributionHandler(t), bodies: map[string][]byte{}}
	reg := testregistry.Serve(t, h)
	target := testregistry.Repository(t, reg, "runs")
	id := discIdentity(t, target)
	rec := discAttach(t, target, "run", time.Time{}, map[string]string{"o.txt": "o"})
	stranger := discPush(t, target, "application/vnd.example", nil, nil) // no subject
	lying := discPush(t, target, "application/vnd.example.lying", &id, nil)
	recDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: rec.Descriptor.Digest, Size: rec.Descriptor.Size}
	idDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: id.Digest, Size: id.Size}

	// The identity's index lists: the record, the record again, the
	// identity itself, a manifest that refers to nothing, a missing
	// manifest, a blob, an invalid digest, a referrer listed with a wrong
	// size and one listed as far over the cap. The record's index lists
	// the identity (a cycle) and the record itself.
	missing := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("missing"), Size: 100}
	blob := ocispec.Descriptor{MediaType: mediatype.Output, Digest: digest.FromString("o"), Size: 1}
	bad := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: "sha256:xyz", Size: 10}
	liar := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: lying.Digest, Size: lying.Size + 7}
	huge := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("huge"), Size: 1 << 40}
	h.bodies[tagOf(t, id.Digest)] = indexOf(t, recDesc, recDesc, idDesc, stranger, missing, blob, bad, liar, huge)
	h.bodies[tagOf(t, rec.Descriptor.Digest)] = indexOf(t, idDesc, recDesc)

	done := make(chan struct{})
	var tree *pull.Tree
	var err error
	go func() {
		defer close(done)
		tree, err = pull.Discover(ctx, target, "run", pull.DiscoverOptions{MaxDepth: 10})
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Discover of a cyclic, hostile index did not return within a minute")
	}
	if err != nil {
		t.Fatal(err)
	}
	var errs, expanded int
	var cycle []string
	tree.Walk(func(n *pull.Node, depth int) {
		if n.Error != "" {
			errs++
			if strings.Contains(n.Error, "but its subject is") && (n.Digest == id.Digest || depth == 2) {
				cycle = append(cycle, n.Error)
			}
			if len(n.Referrers) > 0 {
				expanded++
			}
		}
	})
	// Errors: stranger (no subject), missing, blob, bad digest, liar,
	// huge; the identity listed as its own referrer; under the record,
	// the identity (a cycle) and the record itself. None is followed.
	if errs != 9 || len(cycle) != 3 || expanded != 0 {
		t.Errorf("%d nodes with an error, want 9; %d report a subject that is not the parent, want 3: %q; %d followed, want 0", errs, len(cycle), cycle, expanded)
	}
	// The record listed twice under the root is shown once, and said.
	shown := 0
	for _, c := range tree.Referrers {
		if c.Digest == rec.Descriptor.Digest {
			shown++
		}
	}
	if shown != 1 || !slices.ContainsFunc(tree.Warnings, func(w string) bool { return strings.Contains(w, "more than once") }) {
		t.Errorf("the record is shown %d times (want 1); root warnings %q", shown, tree.Warnings)
	}
	for _, c := range tree.Referrers {
		t.Logf("%s seen=%v error=%q", c.Digest, c.Seen, c.Error)
	}
	if r := childOf(tree.Node, rec.Descriptor.Digest); r == nil || r.Kind != pull.KindOutput || r.Error != "" {
		t.Errorf("the real record: %+v", r)
	}
}

func TestDiscoverBadReferrersTag(t *testing.T) {
	ctx := context.Background()
	t.Run("garbage", func(t *testing.T) {
		h := &hostileIndex{next: testregistry.NewDistributionHandler(t), bodies: map[string][]byte{}}
		target := testregistry.Repository(t, testregistry.Serve(t, h), "runs")
		id := discIdentity(t, target)
		h.bodies[tagOf(t, id.Digest)] = []byte("\x00\x01 not json")
		_, err := pull.Discover(ctx, target, "run", pull.DiscoverOptions{})
		if !errors.Is(err, pull.ErrReferrers) {
			t.Fatalf("error %v, want ErrReferrers", err)
		}
	})
	t.Run("garbage below the root", func(t *testing.T) {
		h := &hostileIndex{next: testregistry.NewDistributionHandler(t), bodies: map[string][]byte{}}
		target := testregistry.Repository(t, testregistry.Serve(t, h), "runs")
		discIdentity(t, target)
		rec := discAttach(t, target, "run", time.Time{}, map[string]string{"o.txt": "o"})
		h.bodies[tagOf(t, rec.Descriptor.Digest)] = []byte("{{{")
		tree, err := pull.Discover(ctx, target, "run", pull.DiscoverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r := childOf(tree.Node, rec.Descriptor.Digest); r == nil || !strings.Contains(r.Error, "list referrers") {
			t.Fatalf("record node %+v, want a listing error", r)
		}
	})
	t.Run("not an index", func(t *testing.T) {
		// Distribution accepts any manifest under the referrers tag.
		target := testregistry.Repository(t, testregistry.StartDistribution(t), "runs")
		id := discIdentity(t, target)
		other := discPush(t, target, "application/vnd.example", nil, nil)
		if err := target.Tag(ctx, other, tagOf(t, id.Digest)); err != nil {
			t.Fatal(err)
		}
		tree, err := pull.Discover(ctx, target, "run", pull.DiscoverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tree.Referrers) != 0 || len(tree.Warnings) != 1 || !strings.Contains(tree.Warnings[0], "not hold an image index") {
			t.Fatalf("referrers %d, warnings %q", len(tree.Referrers), tree.Warnings)
		}
	})
}

// TestDiscoverManyReferrers lists an identity with far more referrers than
// the per-node cap on go-containerregistry's registry (unwrapped: its
// listing says the config media type where the manifests have another
// artifactType). Ten thousand
// referrers are pushed with oras-go, concurrently; Discover with the
// default cap shows 1000, says the rest were left out, and returns in
// bounded time. MaxDepth is 1: go-containerregistry answers every
// referrers request by scanning every manifest of the repository, so
// listing the referrers of each of the 1000 children would cost 10^7
// manifest decodes in the registry, not in Discover.
func TestDiscoverManyReferrers(t *testing.T) {
	ctx := context.Background()
	reg := testutil.StartRawGGCR(t)
	repo := testregistry.Repository(t, reg, "runs")
	if err := repo.SetReferrersCapability(true); err != nil {
		t.Fatal(err)
	}
	id := discIdentity(t, repo)
	const n = 10000
	empty := ocispec.DescriptorEmptyJSON
	if err := repo.Push(ctx, empty, bytes.NewReader(empty.Data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Fatal(err)
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	subject := &ocispec.Descriptor{MediaType: id.MediaType, Digest: id.Digest, Size: id.Size}
	for i := range n {
		g.Go(func() error {
			m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
				ArtifactType: "application/vnd.example.note", Config: empty, Layers: []ocispec.Descriptor{empty}, Subject: subject,
				Annotations: map[string]string{"n": strconv.Itoa(i)}})
			return repo.Push(gctx, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}, bytes.NewReader(m))
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed %d referrers in %v", n, time.Since(start))

	start = time.Now()
	tree, err := pull.Discover(ctx, testregistry.Repository(t, reg, "runs"), "run", pull.DiscoverOptions{MaxDepth: 1})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("discovered %d nodes in %v", tree.Nodes, took)
	if len(tree.Referrers) != pull.DefaultMaxReferrersPerNode || !tree.Truncated || !tree.Incomplete || tree.Omitted != n-pull.DefaultMaxReferrersPerNode {
		t.Fatalf("%d referrers shown, truncated %v, omitted %d; want %d shown and %d omitted", len(tree.Referrers), tree.Truncated, tree.Omitted,
			pull.DefaultMaxReferrersPerNode, n-pull.DefaultMaxReferrersPerNode)
	}
	if took > 2*time.Minute {
		t.Errorf("Discover took %v", took)
	}
	for _, c := range tree.Referrers {
		if c.ArtifactType != "application/vnd.example.note" || c.Kind != pull.KindOther || c.Error != "" {
			t.Fatalf("referrer %s: artifactType %q (the listing says %q), kind %s, error %q", c.Digest, c.ArtifactType, ocispec.MediaTypeEmptyJSON, c.Kind, c.Error)
		}
	}
}

func ExampleDiscover() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "runid-discover")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := oci.New(filepath.Join(dir, "layout"))
	if err != nil {
		panic(err)
	}
	c, err := pack.Load(ctx, "../testdata/examples/minimal/runid.yaml", pack.BuildOptions{})
	if err != nil {
		panic(err)
	}
	if _, err := pack.Push(ctx, store, c, pack.PushOptions{Tag: "run"}); err != nil {
		panic(err)
	}
	answer := filepath.Join(dir, "answer.md")
	if err := os.WriteFile(answer, []byte("Canberra.\n"), 0o644); err != nil {
		panic(err)
	}
	if _, err := referrer.Attach(ctx, store, "run", []referrer.OutputFile{{Path: answer}}, referrer.AttachOptions{
		Created:   time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
		Execution: map[string]any{spec.FactStatus: spec.StatusSucceeded},
	}); err != nil {
		panic(err)
	}

	tree, err := pull.Discover(ctx, store, "run", pull.DiscoverOptions{})
	if err != nil {
		panic(err)
	}
	tree.Walk(func(n *pull.Node, depth int) {
		fmt.Printf("%s%s %s\n", strings.Repeat("  ", depth), n.Kind, n.Digest)
		for _, f := range n.Files {
			fmt.Printf("%s  file %s %s\n", strings.Repeat("  ", depth), f.Annotations[mediatype.AnnotationTitle], f.Digest)
		}
	})
	// Output:
	// identity sha256:5ffb647d1e85afcc04a69a6d8f53ee5d9fc4312cddd37c50fedc9bc7b2269472
	//   output sha256:e7cb4b13f63bad92432de473aee9984f26744c4a696ebf63c3222e52fb2d0626
	//     file answer.md sha256:b8512c99b8e69251eeb5e6e10b0a795660b575e28171c4b21912714c64c537ce
}
