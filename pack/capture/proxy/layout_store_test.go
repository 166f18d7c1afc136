package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pack/layout"
	"github.com/runid/runid-oci/pull"
)

// TestDurableLayoutStore runs the proxy on pack/layout's store: each
// identity is in the layout, for any runid-oci process, by the time its
// response arrives (its manifest and blobs are durable, journaled, before
// the request is forwarded); index.json lists it once the store's
// background commit is done (Sync), for oras-go too; and after shutdown
// every record is listed as a referrer, for runid-oci and for oras-go
// alike.
func TestDurableLayoutStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	store, err := layout.Open(t.Context(), dir, layout.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := newHarness(t, store, proxy.Options{})
	hs.dir = dir
	const clients = 16
	ids := make([]string, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			path, body := request(capture.FormatOpenAIChat, fmt.Sprintf("durable %d", i), false)
			res, err := http.Post(hs.srv.URL+path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			id := res.Header.Get(proxy.DefaultIdentityHeader)
			ids[i] = id
			// Another process sees the identity now: a fresh store, and
			// oras-go's.
			fresh, err := layout.Open(context.Background(), dir, layout.Options{ReadOnly: true})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := pull.Verify(context.Background(), fresh, id, pull.VerifyOptions{}); err != nil {
				t.Errorf("identity %s not in the layout when its response came: %v", id, err)
			}
		})
	}
	wg.Wait()
	if err := store.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	o, err := oci.NewWithContext(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if d, err := o.Resolve(t.Context(), id); err != nil || d.MediaType == "application/octet-stream" {
			t.Errorf("oras-go resolves %s as %q: %v", id, d.MediaType, err)
		}
	}
	hs.shutdown()
	// Shutdown leaves nothing for the next writer to replay.
	if ents, _ := os.ReadDir(filepath.Join(dir, ".runid", "journal")); len(ents) != 0 {
		t.Errorf("%d journal files left after shutdown", len(ents))
	}
	fresh, err := layout.Open(t.Context(), dir, layout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o, err = oci.NewWithContext(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if n := len(outputs(t, fresh, id)); n != 1 {
			t.Errorf("%s: %d records in the layout, want 1", id, n)
		}
		if n := len(outputs(t, o, id)); n != 1 {
			t.Errorf("%s: oras-go finds %d records, want 1", id, n)
		}
	}
}
