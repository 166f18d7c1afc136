package testregistry_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/runid/runid-oci/internal/testregistry"
)

const (
	rootArtifactType = "application/vnd.runid.test.root.v1"
	sigArtifactType  = "application/vnd.runid.test.sig.v1"
	layerMediaType   = "application/vnd.runid.test.layer.v1"
)

var registries = []struct {
	name  string
	start func(testing.TB) *testregistry.Registry
	// referrersAPI reports whether the registry implements the OCI 1.1
	// referrers API (otherwise oras-go must fall back to the tag schema).
	referrersAPI bool
}{
	{name: "distribution", start: testregistry.StartDistribution, referrersAPI: false},
	{name: "ggcr", start: testregistry.StartGGCR, referrersAPI: true},
}

// packRoot builds a one-layer manifest in a memory store, tagged tag.
func packRoot(t *testing.T, layer []byte, tag string) (*memory.Store, ocispec.Descriptor) {
	t.Helper()
	ctx := t.Context()
	mem := memory.New()
	layerDesc, err := oras.PushBytes(ctx, mem, layerMediaType, layer)
	if err != nil {
		t.Fatalf("push layer: %v", err)
	}
	root, err := oras.PackManifest(ctx, mem, oras.PackManifestVersion1_1, rootArtifactType, oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{layerDesc},
		ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2000-01-01T00:00:00Z"},
	})
	if err != nil {
		t.Fatalf("pack manifest: %v", err)
	}
	if err := mem.Tag(ctx, root, tag); err != nil {
		t.Fatalf("tag: %v", err)
	}
	return mem, root
}

func TestPushFetchReferrersDelete(t *testing.T) {
	for _, tc := range registries {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			reg := tc.start(t)
			repo := testregistry.Repository(t, reg, "runid/test")

			layer := []byte("hello " + tc.name)
			mem, root := packRoot(t, layer, "v1")
			copied, err := oras.Copy(ctx, mem, "v1", repo, "v1", oras.DefaultCopyOptions)
			if err != nil {
				t.Fatalf("copy: %v", err)
			}
			if copied.Digest != root.Digest {
				t.Fatalf("copied digest = %s, want %s", copied.Digest, root.Digest)
			}

			// Fetch the manifest back by tag and the layer by digest.
			desc, got, err := oras.FetchBytes(ctx, repo, "v1", oras.DefaultFetchBytesOptions)
			if err != nil {
				t.Fatalf("fetch manifest: %v", err)
			}
			if desc.Digest != root.Digest || digest.FromBytes(got) != root.Digest {
				t.Fatalf("fetched manifest digest %s (content %s), want %s", desc.Digest, digest.FromBytes(got), root.Digest)
			}
			blob, err := content.FetchAll(ctx, repo, ocispec.Descriptor{
				MediaType: layerMediaType, Digest: digest.FromBytes(layer), Size: int64(len(layer)),
			})
			if err != nil {
				t.Fatalf("fetch layer: %v", err)
			}
			if !bytes.Equal(blob, layer) {
				t.Fatalf("layer = %q, want %q", blob, layer)
			}

			// Attach a referrer and list it through a fresh client whose
			// referrers capability is still unknown.
			sig, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, sigArtifactType, oras.PackManifestOptions{
				Subject: &root,
			})
			if err != nil {
				t.Fatalf("pack referrer: %v", err)
			}
			fresh := testregistry.Repository(t, reg, "runid/test")
			var refs []ocispec.Descriptor
			if err := fresh.Referrers(ctx, root, "", func(page []ocispec.Descriptor) error {
				refs = append(refs, page...)
				return nil
			}); err != nil {
				t.Fatalf("referrers: %v", err)
			}
			if len(refs) != 1 || refs[0].Digest != sig.Digest || refs[0].ArtifactType != sigArtifactType {
				t.Fatalf("referrers = %+v, want one %s with artifactType %s", refs, sig.Digest, sigArtifactType)
			}

			// The capability oras-go detected: setting the same value is a
			// no-op, setting the opposite one is refused.
			if err := fresh.SetReferrersCapability(tc.referrersAPI); err != nil {
				t.Errorf("SetReferrersCapability(%v) = %v, want nil (detected capability differs)", tc.referrersAPI, err)
			}
			if err := fresh.SetReferrersCapability(!tc.referrersAPI); !errors.Is(err, remote.ErrReferrersCapabilityAlreadySet) {
				t.Errorf("SetReferrersCapability(%v) = %v, want ErrReferrersCapabilityAlreadySet", !tc.referrersAPI, err)
			}

			// The raw API endpoint exists only on registries with the
			// referrers API; the fallback tag exists only on the others.
			status := httpStatus(t, reg.URL+"/v2/runid/test/referrers/"+root.Digest.String())
			if got, want := status == http.StatusOK, tc.referrersAPI; got != want {
				t.Errorf("GET referrers API: status %d, API available = %v, want %v", status, got, want)
			}
			fallbackTag := root.Digest.Algorithm().String() + "-" + root.Digest.Encoded()
			_, err = repo.Resolve(ctx, fallbackTag)
			if got, want := err == nil, !tc.referrersAPI; got != want {
				t.Errorf("resolve fallback tag %s: err = %v, tag present = %v, want %v", fallbackTag, err, got, want)
			}

			// Deletes are enabled.
			if err := repo.Delete(ctx, sig); err != nil {
				t.Fatalf("delete referrer: %v", err)
			}
			exists, err := repo.Exists(ctx, sig)
			if err != nil {
				t.Fatalf("exists after delete: %v", err)
			}
			if exists {
				t.Fatalf("referrer %s still exists after delete", sig.Digest)
			}
		})
	}
}

func TestReferrersArtifactTypeFilter(t *testing.T) {
	for _, tc := range registries {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			reg := tc.start(t)
			repo := testregistry.Repository(t, reg, "runid/filter")
			mem, root := packRoot(t, []byte("subject"), "v1")
			if _, err := oras.Copy(ctx, mem, "v1", repo, "v1", oras.DefaultCopyOptions); err != nil {
				t.Fatalf("copy: %v", err)
			}
			// Push referrers through a fresh client: the push itself must let
			// oras-go detect the capability (OCI-Subject header or not).
			pusher := testregistry.Repository(t, reg, "runid/filter")
			want := map[string]digest.Digest{}
			for _, at := range []string{sigArtifactType, "application/vnd.runid.test.output.v1", "application/vnd.runid.test.output.v1"} {
				desc, err := oras.PackManifest(ctx, pusher, oras.PackManifestVersion1_1, at, oras.PackManifestOptions{
					Subject:             &root,
					ManifestAnnotations: map[string]string{"n": fmt.Sprint(len(want)), ocispec.AnnotationCreated: "2000-01-01T00:00:00Z"},
				})
				if err != nil {
					t.Fatalf("pack referrer %s: %v", at, err)
				}
				want[desc.Digest.String()] = desc.Digest
			}
			if err := pusher.SetReferrersCapability(!tc.referrersAPI); !errors.Is(err, remote.ErrReferrersCapabilityAlreadySet) {
				t.Errorf("capability after push: SetReferrersCapability(%v) = %v, want ErrReferrersCapabilityAlreadySet", !tc.referrersAPI, err)
			}

			tests := []struct {
				filter string
				want   int
			}{
				{filter: "", want: 3},
				{filter: sigArtifactType, want: 1},
				{filter: "application/vnd.runid.test.output.v1", want: 2},
				{filter: "application/vnd.runid.test.none.v1", want: 0},
			}
			for _, ft := range tests {
				t.Run("filter="+ft.filter, func(t *testing.T) {
					var got []ocispec.Descriptor
					if err := repo.Referrers(ctx, root, ft.filter, func(page []ocispec.Descriptor) error {
						got = append(got, page...)
						return nil
					}); err != nil {
						t.Fatalf("referrers: %v", err)
					}
					if len(got) != ft.want {
						t.Fatalf("got %d referrers %+v, want %d", len(got), got, ft.want)
					}
					for _, d := range got {
						if _, ok := want[d.Digest.String()]; !ok {
							t.Errorf("unexpected referrer %s", d.Digest)
						}
						if ft.filter != "" && d.ArtifactType != ft.filter {
							t.Errorf("referrer %s has artifactType %q, want %q", d.Digest, d.ArtifactType, ft.filter)
						}
					}
				})
			}
		})
	}
}

func TestOCISubjectHeader(t *testing.T) {
	for _, tc := range registries {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			reg := tc.start(t)
			repo := testregistry.Repository(t, reg, "runid/subject")
			mem, root := packRoot(t, []byte("subject header"), "v1")
			if _, err := oras.Copy(ctx, mem, "v1", repo, "v1", oras.DefaultCopyOptions); err != nil {
				t.Fatalf("copy: %v", err)
			}
			// An empty-config artifact referring to root, pushed with raw HTTP.
			if _, err := oras.PushBytes(ctx, repo, ocispec.DescriptorEmptyJSON.MediaType, ocispec.DescriptorEmptyJSON.Data); err != nil {
				t.Fatalf("push empty config: %v", err)
			}
			manifest, err := json.Marshal(ocispec.Manifest{
				Versioned:    specs.Versioned{SchemaVersion: 2},
				MediaType:    ocispec.MediaTypeImageManifest,
				ArtifactType: sigArtifactType,
				Config:       ocispec.DescriptorEmptyJSON,
				Layers:       []ocispec.Descriptor{ocispec.DescriptorEmptyJSON},
				Subject:      &root,
			})
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, reg.URL+"/v2/runid/subject/manifests/"+digest.FromBytes(manifest).String(), bytes.NewReader(manifest))
			if err != nil {
				t.Fatalf("new request: %v", err)
			}
			req.Header.Set("Content-Type", ocispec.MediaTypeImageManifest)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("PUT manifest: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("PUT manifest: status %d, want 201", resp.StatusCode)
			}
			got := resp.Header.Get("OCI-Subject")
			want := ""
			if tc.referrersAPI {
				want = root.Digest.String()
			}
			if got != want {
				t.Fatalf("OCI-Subject = %q, want %q", got, want)
			}
		})
	}
}

func TestFreshStorePerRegistry(t *testing.T) {
	for _, tc := range registries {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			first := tc.start(t)
			mem, root := packRoot(t, []byte("only in the first registry"), "v1")
			if _, err := oras.Copy(ctx, mem, "v1", testregistry.Repository(t, first, "shared/name"), "v1", oras.DefaultCopyOptions); err != nil {
				t.Fatalf("copy: %v", err)
			}
			for i := range 3 {
				other := tc.start(t)
				if other.Host == first.Host {
					t.Fatalf("registry %d reuses address %s", i, other.Host)
				}
				_, err := testregistry.Repository(t, other, "shared/name").Resolve(ctx, root.Digest.String())
				if !errors.Is(err, errdef.ErrNotFound) {
					t.Fatalf("registry %d: resolve content of another registry: err = %v, want ErrNotFound", i, err)
				}
			}
		})
	}
}

// countingHandler counts requests and fails every manifest PUT while
// failPuts is set, like a fault-injecting test wrapper would.
type countingHandler struct {
	next     http.Handler
	requests atomic.Int64
	failPuts atomic.Bool
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if h.failPuts.Load() && r.Method == http.MethodPut && bytes.Contains([]byte(r.URL.Path), []byte("/manifests/")) {
		http.Error(w, `{"errors":[{"code":"DENIED","message":"injected"}]}`, http.StatusForbidden)
		return
	}
	h.next.ServeHTTP(w, r)
}

func TestServeWrappedHandler(t *testing.T) {
	handlers := []struct {
		name string
		new  func(testing.TB) http.Handler
	}{
		{name: "distribution", new: testregistry.NewDistributionHandler},
		{name: "ggcr", new: testregistry.NewGGCRHandler},
	}
	for _, tc := range handlers {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			wrapped := &countingHandler{next: tc.new(t)}
			wrapped.failPuts.Store(true)
			reg := testregistry.Serve(t, wrapped)
			if reg.Handler != http.Handler(wrapped) {
				t.Fatalf("Registry.Handler is not the served handler")
			}
			repo := testregistry.Repository(t, reg, "faulty/repo")
			mem, root := packRoot(t, []byte("fault"), "v1")

			_, err := oras.Copy(ctx, mem, "v1", repo, "v1", oras.DefaultCopyOptions)
			if err == nil {
				t.Fatalf("copy succeeded although manifest PUTs are failed")
			}
			wrapped.failPuts.Store(false)
			if _, err := oras.Copy(ctx, mem, "v1", repo, "v1", oras.DefaultCopyOptions); err != nil {
				t.Fatalf("copy after clearing the fault: %v", err)
			}
			if _, err := repo.Resolve(ctx, root.Digest.String()); err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if wrapped.requests.Load() == 0 {
				t.Fatalf("wrapped handler saw no requests")
			}
		})
	}
}

func TestRef(t *testing.T) {
	reg := &testregistry.Registry{Host: "127.0.0.1:5000"}
	tests := []struct {
		name, repo, ref, want string
	}{
		{name: "tag", repo: "a/b", ref: "v1", want: "127.0.0.1:5000/a/b:v1"},
		{name: "digest", repo: "a/b", ref: "sha256:" + fmt.Sprintf("%064d", 0), want: "127.0.0.1:5000/a/b@sha256:" + fmt.Sprintf("%064d", 0)},
		{name: "bare", repo: "a", ref: "", want: "127.0.0.1:5000/a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := reg.Ref(tc.repo, tc.ref); got != tc.want {
				t.Fatalf("Ref(%q, %q) = %q, want %q", tc.repo, tc.ref, got, tc.want)
			}
		})
	}
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
