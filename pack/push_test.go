package pack_test

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// targets are the stores Push is tested against: an OCI image layout and
// two real in-process registries.
var targets = []struct {
	name string
	open func(t *testing.T) oras.Target
}{
	{"oci-layout", func(t *testing.T) oras.Target { s, _ := testutil.NewLayout(t); return s }},
	{"distribution", func(t *testing.T) oras.Target {
		return testregistry.Repository(t, testregistry.StartDistribution(t), "runs/rag-agent")
	}},
	{"ggcr", func(t *testing.T) oras.Target {
		return testregistry.Repository(t, testregistry.StartGGCR(t), "runs/rag-agent")
	}},
}

// TestPush pushes every example to each target, reads everything back and
// pushes again.
func TestPush(t *testing.T) {
	for _, tc := range targets {
		for _, decl := range exampleDecls(t) {
			t.Run(tc.name+"/"+filepath.Base(filepath.Dir(decl)), func(t *testing.T) {
				ctx := t.Context()
				target := tc.open(t)
				comp := load(t, decl)
				wantBlobs, wantBytes := distinctBlobs(comp)

				res, err := pack.Push(ctx, target, comp, pack.PushOptions{Tag: "v1"})
				if err != nil {
					t.Fatalf("push: %v", err)
				}
				d, err := pack.Digest(ctx, decl, pack.BuildOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Descriptor.Digest != d || d != comp.Digest() {
					t.Errorf("pushed %s, pack.Digest %s, composition %s: want all equal", res.Descriptor.Digest, d, comp.Digest())
				}
				if res.Descriptor.MediaType != ocispec.MediaTypeImageManifest || res.Descriptor.Size != int64(len(comp.Identity.ManifestBytes)) {
					t.Errorf("descriptor = %+v", res.Descriptor)
				}
				if res.BlobsUploaded != wantBlobs || res.BlobsSkipped != 0 || res.BytesUploaded != wantBytes {
					t.Errorf("first push uploaded %d blobs (%d bytes), skipped %d; want %d (%d bytes), 0",
						res.BlobsUploaded, res.BytesUploaded, res.BlobsSkipped, wantBlobs, wantBytes)
				}
				if res.Tag != "v1" {
					t.Errorf("tag = %q, want v1", res.Tag)
				}

				// The tag resolves to the identity; the manifest and every
				// blob read back are the bytes that were built.
				tagged, err := target.Resolve(ctx, "v1")
				if err != nil {
					t.Fatalf("resolve tag: %v", err)
				}
				if tagged.Digest != comp.Digest() {
					t.Errorf("tag v1 -> %s, want %s", tagged.Digest, comp.Digest())
				}
				manifest, err := content.FetchAll(ctx, target, res.Descriptor)
				if err != nil {
					t.Fatalf("fetch manifest: %v", err)
				}
				if !bytes.Equal(manifest, comp.Identity.ManifestBytes) {
					t.Errorf("fetched manifest differs:\n got %s\nwant %s", manifest, comp.Identity.ManifestBytes)
				}
				doc, err := content.FetchAll(ctx, target, comp.Identity.ConfigDescriptor())
				if err != nil {
					t.Fatalf("fetch identity document: %v", err)
				}
				if !bytes.Equal(doc, comp.Identity.DocumentBytes) {
					t.Errorf("fetched identity document differs:\n got %s\nwant %s", doc, comp.Identity.DocumentBytes)
				}
				if _, err := spec.ParseIdentity(manifest, doc); err != nil {
					t.Errorf("ParseIdentity of the pushed identity: %v", err)
				}
				for _, c := range comp.Components {
					got, err := content.FetchAll(ctx, target, c.Descriptor())
					if err != nil {
						t.Fatalf("fetch %q: %v", c.Name, err)
					}
					rc, err := c.Open()
					if want := readAll(t, rc, err); !bytes.Equal(got, want) {
						t.Errorf("component %q: fetched %d bytes, want the %d built", c.Name, len(got), len(want))
					}
				}

				// A second push finds everything and uploads nothing.
				again, err := pack.Push(ctx, target, comp, pack.PushOptions{Tag: "v1"})
				if err != nil {
					t.Fatalf("second push: %v", err)
				}
				if again.BlobsUploaded != 0 || again.BytesUploaded != 0 || again.BlobsSkipped != wantBlobs {
					t.Errorf("second push uploaded %d blobs (%d bytes), skipped %d; want 0 (0 bytes), %d",
						again.BlobsUploaded, again.BytesUploaded, again.BlobsSkipped, wantBlobs)
				}
				if again.Descriptor.Digest != res.Descriptor.Digest {
					t.Errorf("second push reports %s, first %s", again.Descriptor.Digest, res.Descriptor.Digest)
				}
			})
		}
	}
}

// TestPushProgress checks the events of a push: one upload per distinct
// blob, then the manifest, then the tag; and only skips on a second push.
func TestPushProgress(t *testing.T) {
	ctx := t.Context()
	store, _ := testutil.NewLayout(t)
	comp := load(t, filepath.Join(examplesDir, "rag-agent", "runid.yaml"))
	wantBlobs, _ := distinctBlobs(comp)
	push := func() map[pack.EventKind]int {
		counts := make(chan pack.EventKind, 4*wantBlobs+2)
		_, err := pack.Push(ctx, store, comp, pack.PushOptions{Tag: "latest", Progress: func(e pack.Event) { counts <- e.Kind }})
		if err != nil {
			t.Fatal(err)
		}
		close(counts)
		out := map[pack.EventKind]int{}
		for k := range counts {
			out[k]++
		}
		return out
	}
	first := push()
	want := map[pack.EventKind]int{pack.EventBlobUploading: wantBlobs, pack.EventBlobUploaded: wantBlobs, pack.EventManifestPushed: 1, pack.EventTagged: 1}
	for k, n := range want {
		if first[k] != n {
			t.Errorf("first push: %d events of kind %d, want %d (all: %v)", first[k], k, n, first)
		}
	}
	second := push()
	want = map[pack.EventKind]int{pack.EventBlobSkipped: wantBlobs, pack.EventManifestPushed: 1, pack.EventTagged: 1}
	for k, n := range want {
		if second[k] != n {
			t.Errorf("second push: %d events of kind %d, want %d (all: %v)", second[k], k, n, second)
		}
	}
	if second[pack.EventBlobUploading]+second[pack.EventBlobUploaded] != 0 {
		t.Errorf("second push uploaded: %v", second)
	}
}

// TestPushDeduplicates checks that identical components are stored once:
// within one run (two names, one content) and across two runs that share
// components.
func TestPushDeduplicates(t *testing.T) {
	ctx := t.Context()
	store, layoutDir := testutil.NewLayout(t)
	src := filepath.Join(examplesDir, "rag-agent")

	// Run A is the example; run B asks another question with everything
	// else the same.
	runA := load(t, filepath.Join(src, "runid.yaml"))
	dirB := t.TempDir()
	copyTree(t, src, dirB)
	docB := readDecl(t, filepath.Join(dirB, "runid.yaml"))
	_, input := componentItem(t, docB, "input/conversation.json")
	f, _ := mapGet(input, "file")
	writeFile(t, filepath.Join(dirB, f.(string)), []byte(`[{"role":"user","content":"Where is my parcel?"}]`))
	runB := load(t, filepath.Join(dirB, "runid.yaml"))

	// Run C has two components with the same bytes under two names.
	dirC := t.TempDir()
	copyTree(t, src, dirC)
	docC := readDecl(t, filepath.Join(dirC, "runid.yaml"))
	ctxRole, _ := componentItem(t, docC, "context/01-refund-policy.md")
	r := roles(t, docC)
	v, _ := mapGet(r, ctxRole)
	list := v.([]any)
	firstFile, _ := mapGet(list[0].(yaml.MapSlice), "file")
	dup := yaml.MapSlice{{Key: "name", Value: "context/05-refund-policy-again.md"}, {Key: "file", Value: firstFile}}
	setField(t, r, ctxRole, append(list, dup))
	writeDecl(t, filepath.Join(dirC, "runid.yaml"), docC)
	runC := load(t, filepath.Join(dirC, "runid.yaml"))

	all := map[digest.Digest]bool{}
	var separately int
	for _, run := range []*pack.Composition{runA, runB, runC} {
		n, _ := distinctBlobs(run)
		separately += n + 1 // and the manifest
		all[run.Digest()] = true
		all[run.Identity.ConfigDescriptor().Digest] = true
		for _, c := range run.Components {
			all[c.Digest] = true
		}
		res, err := pack.Push(ctx, store, run, pack.PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.BlobsUploaded+res.BlobsSkipped != n {
			t.Errorf("push handled %d+%d blobs, want %d distinct", res.BlobsUploaded, res.BlobsSkipped, n)
		}
	}
	if len(runC.Components) != len(runA.Components)+1 {
		t.Fatalf("run C has %d components, want %d", len(runC.Components), len(runA.Components)+1)
	}
	var want []string
	for d := range all {
		want = append(want, d.String())
	}
	slices.Sort(want)
	if blobs := layoutBlobs(t, layoutDir); !slices.Equal(blobs, want) {
		t.Errorf("layout holds %d blobs, want the %d distinct digests:\n got %v\nwant %v", len(blobs), len(want), blobs, want)
	}
	if len(all) >= separately {
		t.Errorf("the runs share no blob: %d distinct of %d", len(all), separately)
	}
	if m := layoutIndex(t, layoutDir); len(m) != 3 {
		t.Errorf("layout index lists %d manifests, want 3", len(m))
	}
}
