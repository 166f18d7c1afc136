package pull_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pull"
)

// TestPullRequests counts what Pull asks of a registry: the manifest once
// (by tag: it is resolved and read in the same request), the identity
// document once, and each distinct disclosed blob once.
func TestPullRequests(t *testing.T) {
	comp := testutil.LoadExample(t, "rag-agent")
	var mu sync.Mutex
	counts := map[string]int{}
	next := testregistry.NewDistributionHandler(t)
	faulty, clean := startFaulty(t, next, func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		kind := "other"
		switch {
		case strings.Contains(r.URL.Path, "/manifests/"):
			kind = "manifest"
		case strings.Contains(r.URL.Path, "/blobs/"):
			kind = "blob"
		}
		mu.Lock()
		counts[r.Method+" "+kind]++
		mu.Unlock()
		return false
	})
	testutil.Push(t, clean, comp, tag)
	if _, err := pull.Pull(t.Context(), faulty, tag, t.TempDir(), pull.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	blobs := map[string]bool{}
	for _, c := range disclosed(comp) {
		blobs[c.Digest.String()] = true
	}
	want := map[string]int{"GET manifest": 1, "GET blob": 1 + len(blobs)}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range counts {
		if want[k] != n {
			t.Errorf("pull sent %d %s requests, want %d (all: %v)", n, k, want[k], counts)
		}
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("pull sent %d %s requests, want %d (all: %v)", counts[k], k, n, counts)
		}
	}
}
