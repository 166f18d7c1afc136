package referrer_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/referrer"
)

// indexPut matches the PUT of a referrers tag-schema index (tag
// sha256-<hex>, nothing after it).
var indexPut = regexp.MustCompile(`/manifests/sha256-[0-9a-f]{64}$`)

// stallIndexPut holds the first referrers index PUT it sees for stall
// before passing it on: its writer read the index before every other
// writer wrote, and writes after they all reported success.
type stallIndexPut struct {
	next    http.Handler
	stall   time.Duration
	stalled atomic.Bool
}

func (h *stallIndexPut) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && indexPut.MatchString(r.URL.Path) && h.stalled.CompareAndSwap(false, true) {
		time.Sleep(h.stall)
	}
	h.next.ServeHTTP(w, r)
}

// TestAttachStalledIndexWriter attaches records to one identity from 20,
// then 50 clients at once on a registry without the referrers API, one of
// whose index updates is held for three seconds, long after every other
// writer reported success: every record reported must be in the subject's
// tag-schema index afterwards.
func TestAttachStalledIndexWriter(t *testing.T) {
	for _, n := range []int{20, 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx := context.Background()
			h := &stallIndexPut{next: testregistry.NewDistributionHandler(t), stall: 3 * time.Second}
			reg := testregistry.Serve(t, h)
			id := pushIdentity(t, testregistry.Repository(t, reg, "runs"))
			digests := make([]digest.Digest, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					files := testutil.OutputFiles(t, map[string]string{"out.txt": fmt.Sprintf("output %d", i)})
					res, err := referrer.Attach(ctx, testregistry.Repository(t, reg, "runs"), id.Digest.String(), files, referrer.AttachOptions{})
					if err != nil {
						t.Errorf("writer %d: %v", i, err)
						return
					}
					digests[i] = res.Descriptor.Digest
				})
			}
			wg.Wait()
			if !h.stalled.Load() {
				t.Fatal("no index update was stalled")
			}
			_, listed, err := referrer.ReadFallback(ctx, testregistry.Repository(t, reg, "runs"), id.Digest, 0)
			if err != nil {
				t.Fatal(err)
			}
			lost := 0
			for i, d := range digests {
				if d != "" && !hasDigest(listed, d) {
					lost++
					t.Errorf("record %d (%s) reported attached, not in the index", i, d)
				}
			}
			t.Logf("%d writers, one index update stalled 3 s: %d records in the index, %d lost", n, len(listed), lost)
		})
	}
}
