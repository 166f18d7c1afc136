package pack_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack"
)

// faultHandler passes requests to a real registry, except the failOn-th
// blob upload request (PUT or PATCH of an upload session), which gets a 500
// or has its connection closed mid-request. It is a fault a real registry
// does not produce on demand; everything else is the real registry.
type faultHandler struct {
	next   http.Handler
	failOn int64
	abort  bool

	uploads atomic.Int64
	mu      sync.Mutex
	active  int
}

func (h *faultHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.active++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.active--
		h.mu.Unlock()
	}()
	upload := (r.Method == http.MethodPut || r.Method == http.MethodPatch) && strings.Contains(r.URL.Path, "/blobs/uploads/")
	if upload && h.uploads.Add(1) == h.failOn {
		if !h.abort {
			http.Error(w, "injected fault", http.StatusInternalServerError)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
		return
	}
	h.next.ServeHTTP(w, r)
}

// settle waits until no request is being served and none started for a
// moment: requests cancelled by a failed push may still be finishing.
func (h *faultHandler) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	quiet := 0
	for quiet < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the registry is still serving requests")
		}
		time.Sleep(10 * time.Millisecond)
		h.mu.Lock()
		idle := h.active == 0
		h.mu.Unlock()
		if idle {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// headManifest returns the status of a HEAD of the manifest by digest.
func headManifest(t *testing.T, reg *testregistry.Registry, repo string, desc ocispec.Descriptor) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, fmt.Sprintf("%s/v2/%s/manifests/%s", reg.URL, repo, desc.Digest), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// listTags lists the tags of a repository; a repository the registry does
// not know (404) has none.
func listTags(ctx context.Context, t *testing.T, repo *remote.Repository) []string {
	t.Helper()
	var tags []string
	err := repo.Tags(ctx, "", func(page []string) error {
		tags = append(tags, page...)
		return nil
	})
	var er *errcode.ErrorResponse
	if errors.As(err, &er) && er.StatusCode == http.StatusNotFound {
		return nil
	}
	if err != nil {
		t.Fatalf("list tags: %v", err)
	}
	return tags
}

// TestPushFaults breaks one blob upload of a push to a real Distribution
// registry: the push fails, no manifest and no tag are visible, and a
// second push through a clean handler to the same store uploads exactly
// the blobs that are missing.
func TestPushFaults(t *testing.T) {
	const repoName = "runs/faulty"
	comp := load(t, filepath.Join(examplesDir, "rag-agent", "runid.yaml"))
	total, totalSize := distinctBlobs(comp)
	if total < 5 {
		t.Fatalf("rag-agent has %d distinct blobs; the cases below need at least 5", total)
	}
	tests := []struct {
		name        string
		failOn      int
		abort       bool
		concurrency int
	}{
		{"500 on the first upload", 1, false, 1},
		{"500 on the fifth upload", 5, false, 1},
		{"500 on the last upload", total, false, 1},
		{"abort on the first upload", 1, true, 1},
		{"abort on the fifth upload", 5, true, 1},
		{"abort on the last upload", total, true, 1},
		{"500 on the third of concurrent uploads", 3, false, 8},
		{"abort on the third of concurrent uploads", 3, true, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			inner := testregistry.NewDistributionHandler(t)
			fault := &faultHandler{next: inner, failOn: int64(tc.failOn), abort: tc.abort}
			faulty := testregistry.Serve(t, fault)
			repo := testregistry.Repository(t, faulty, repoName)

			_, err := pack.Push(ctx, repo, comp, pack.PushOptions{Tag: "v1", Concurrency: tc.concurrency})
			if !errors.Is(err, pack.ErrPush) {
				t.Fatalf("push error = %v, want %v", err, pack.ErrPush)
			}
			fault.settle(t)

			// Nothing is visible: no manifest, no tag.
			if code := headManifest(t, faulty, repoName, comp.Identity.Descriptor()); code != http.StatusNotFound {
				t.Errorf("HEAD manifest by digest: %d, want %d", code, http.StatusNotFound)
			}
			if _, err := repo.Resolve(ctx, "v1"); !errors.Is(err, errdef.ErrNotFound) {
				t.Errorf("resolve v1: %v, want %v", err, errdef.ErrNotFound)
			}
			if tags := listTags(ctx, t, repo); len(tags) != 0 {
				t.Errorf("tags = %v, want none", tags)
			}

			// Which blobs made it.
			present, presentSize := 0, int64(0)
			blobs := []ocispec.Descriptor{comp.Identity.ConfigDescriptor()}
			seen := map[string]bool{blobs[0].Digest.String(): true}
			for _, c := range comp.Components {
				if !seen[c.Digest.String()] {
					seen[c.Digest.String()] = true
					blobs = append(blobs, c.Descriptor())
				}
			}
			for _, b := range blobs {
				ok, err := repo.Blobs().Exists(ctx, b)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					present++
					presentSize += b.Size
				}
			}
			if tc.concurrency == 1 && present != tc.failOn-1 {
				t.Errorf("%d blobs in the registry after failing upload %d of a sequential push, want %d", present, tc.failOn, tc.failOn-1)
			}
			if present == total {
				t.Fatalf("all %d blobs made it although an upload failed", total)
			}

			// A clean handler on the same store: the retry uploads only
			// what is missing, then the identity is complete.
			clean := testregistry.Serve(t, inner)
			cleanRepo := testregistry.Repository(t, clean, repoName)
			res, err := pack.Push(ctx, cleanRepo, comp, pack.PushOptions{Tag: "v1", Concurrency: tc.concurrency})
			if err != nil {
				t.Fatalf("second push: %v", err)
			}
			// The first blob of a push to a registry not seen before goes
			// up in a single POST, which Distribution answers as a plain
			// one: that blob is sent even if the registry has it.
			resent := res.BlobsUploaded - (total - present)
			if resent < 0 || resent > 1 || res.BlobsSkipped != present-resent || res.BytesUploaded < totalSize-presentSize {
				t.Errorf("second push uploaded %d blobs (%d bytes), skipped %d; want %d (%d bytes), %d, or one more sent by the single-POST probe",
					res.BlobsUploaded, res.BytesUploaded, res.BlobsSkipped, total-present, totalSize-presentSize, present)
			}
			if code := headManifest(t, clean, repoName, comp.Identity.Descriptor()); code != http.StatusOK {
				t.Errorf("HEAD manifest by digest after the retry: %d, want %d", code, http.StatusOK)
			}
			if tags := listTags(ctx, t, cleanRepo); len(tags) != 1 || tags[0] != "v1" {
				t.Errorf("tags after the retry = %v, want [v1]", tags)
			}
		})
	}
}
