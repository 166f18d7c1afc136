package pack_test

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack"
)

// requestLog passes requests to a registry and counts them by kind:
// "HEAD blob", "POST mount" (an upload start that asks for a mount), "POST
// upload", "POST single" (an upload in one request, with its digest),
// "PUT upload", "HEAD manifest", "PUT manifest", "GET manifest"...
// With refuseMounts it answers a mount request 405 UNSUPPORTED, as a
// registry without mounts may; with refuseSingle it answers a single-POST
// upload so.
type requestLog struct {
	next         http.Handler
	refuseMounts bool
	refuseSingle bool

	mu     sync.Mutex
	counts map[string]int
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := "other"
	switch p := r.URL.Path; {
	case strings.Contains(p, "/blobs/uploads/") && r.URL.Query().Get("mount") != "":
		kind = "mount"
	case strings.Contains(p, "/blobs/uploads/") && r.Method == http.MethodPost && r.URL.Query().Get("digest") != "":
		kind = "single"
	case strings.Contains(p, "/blobs/uploads/"):
		kind = "upload"
	case strings.Contains(p, "/blobs/"):
		kind = "blob"
	case strings.Contains(p, "/manifests/"):
		kind = "manifest"
	}
	l.mu.Lock()
	l.counts[r.Method+" "+kind]++
	l.mu.Unlock()
	if kind == "mount" && l.refuseMounts || kind == "single" && l.refuseSingle {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprint(w, `{"errors":[{"code":"UNSUPPORTED","message":"no mounts here"}]}`)
		return
	}
	l.next.ServeHTTP(w, r)
}

// take returns the counts since the last call and resets them.
func (l *requestLog) take() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.counts
	l.counts = map[string]int{}
	return out
}

// writeDocsDecl writes a declaration of n small text documents into dir
// (document i holds "document i" and variant) and returns its path.
func writeDocsDecl(t *testing.T, dir string, n int, variant string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("runid: \"1\"\nroles:\n  model: { provider: example, name: m }\n  parameters: none\n  system-prompt: none\n  tools: none\n  context:\n")
	for i := range n {
		name := fmt.Sprintf("docs/doc-%03d.md", i)
		body := fmt.Sprintf("document %d\n", i)
		if i == 0 {
			body += variant
		}
		writeFile(t, filepath.Join(dir, name), []byte(body))
		fmt.Fprintf(&b, "    - { name: context/doc-%03d.md, file: %s }\n", i, name)
	}
	b.WriteString("  input: none\n  config: none\n  runtime: none\n")
	path := filepath.Join(dir, "runid.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPushRequests counts what Push asks of a Distribution registry: one
// single-POST upload, which Distribution answers as a plain POST (so that
// blob goes up with a PUT and no other is sent that way), no per-blob
// existence check for small blobs (one mount request finds a blob or opens
// its upload), nothing per blob when the identity is already there, and
// the manifest and its tag in one request.
func TestPushRequests(t *testing.T) {
	const docs = 40
	log := &requestLog{next: testregistry.NewDistributionHandler(t), counts: map[string]int{}}
	repo := testregistry.Repository(t, testregistry.Serve(t, log), "runs/docs")
	ctx := t.Context()
	dir := t.TempDir()
	first := load(t, writeDocsDecl(t, dir, docs, "first"))
	blobs, size := distinctBlobs(first)

	check := func(step string, res pack.PushResult, uploaded, skipped int, bytes int64, want map[string]int) {
		t.Helper()
		if res.BlobsUploaded != uploaded || res.BlobsSkipped != skipped || res.BytesUploaded != bytes {
			t.Errorf("%s: uploaded %d blobs (%d bytes), skipped %d; want %d (%d bytes), %d",
				step, res.BlobsUploaded, res.BytesUploaded, res.BlobsSkipped, uploaded, bytes, skipped)
		}
		if got := log.take(); !maps.Equal(got, want) {
			t.Errorf("%s: requests %v, want %v", step, got, want)
		}
	}

	res, err := pack.Push(ctx, repo, first, pack.PushOptions{Tag: "v1"})
	if err != nil {
		t.Fatalf("first push: %v", err)
	}
	check("first push", res, blobs, 0, size, map[string]int{
		"HEAD manifest": 1, "POST single": 1, "POST mount": blobs - 1, "PUT upload": blobs, "PUT manifest": 1,
	})

	res, err = pack.Push(ctx, repo, first, pack.PushOptions{Tag: "v1"})
	if err != nil {
		t.Fatalf("second push: %v", err)
	}
	check("same identity again", res, 0, blobs, 0, map[string]int{"HEAD manifest": 1, "PUT manifest": 1})

	// One document changes: that document and the identity document are
	// uploaded, every other blob is found by its mount request.
	second := load(t, writeDocsDecl(t, t.TempDir(), docs, "second"))
	res, err = pack.Push(ctx, repo, second, pack.PushOptions{Tag: "v2"})
	if err != nil {
		t.Fatalf("third push: %v", err)
	}
	changed := second.Identity.ConfigDescriptor().Size
	for _, c := range second.Components {
		if c.Name == "context/doc-000.md" {
			changed += c.Size
		}
	}
	check("one component changed", res, 2, blobs-2, changed, map[string]int{
		"HEAD manifest": 1, "POST mount": blobs, "PUT upload": 2, "PUT manifest": 1,
	})
	if tagged, err := repo.Resolve(ctx, "v2"); err != nil || tagged.Digest != second.Digest() {
		t.Errorf("tag v2 -> %v (%v), want %s", tagged.Digest, err, second.Digest())
	}
}

// TestPushWithoutMounts pushes to a registry that refuses mount requests:
// Push stops asking after the requests already in flight and checks blobs
// with HEAD, so that what the repository has is still never uploaded.
func TestPushWithoutMounts(t *testing.T) {
	const docs = 40
	log := &requestLog{next: testregistry.NewDistributionHandler(t), counts: map[string]int{}, refuseMounts: true}
	repo := testregistry.Repository(t, testregistry.Serve(t, log), "runs/docs")
	ctx := t.Context()
	first := load(t, writeDocsDecl(t, t.TempDir(), docs, "first"))
	blobs, size := distinctBlobs(first)
	res, err := pack.Push(ctx, repo, first, pack.PushOptions{Tag: "v1"})
	if err != nil {
		t.Fatalf("first push: %v", err)
	}
	if res.BlobsUploaded != blobs || res.BytesUploaded != size || res.BlobsSkipped != 0 {
		t.Errorf("first push uploaded %d blobs (%d bytes), skipped %d; want %d (%d bytes), 0",
			res.BlobsUploaded, res.BytesUploaded, res.BlobsSkipped, blobs, size)
	}
	got := log.take()
	if got["POST mount"] < 1 || got["POST mount"] > pack.DefaultPushConcurrency {
		t.Errorf("first push: %d mount requests, want 1 to %d (those in flight when the first was refused)", got["POST mount"], pack.DefaultPushConcurrency)
	}
	// The first blob went up in a single POST, which Distribution answers
	// as a plain one (the blob then PUT there).
	if got["POST single"] != 1 || got["HEAD blob"] != blobs-1 || got["POST upload"] != blobs-1 || got["PUT upload"] != blobs {
		t.Errorf("first push: requests %v, want 1 single POST, %d blob HEADs and upload POSTs, %d PUTs", got, blobs-1, blobs)
	}

	second := load(t, writeDocsDecl(t, t.TempDir(), docs, "second"))
	res, err = pack.Push(ctx, repo, second, pack.PushOptions{Tag: "v2"})
	if err != nil {
		t.Fatalf("second push: %v", err)
	}
	if res.BlobsUploaded != 2 || res.BlobsSkipped != blobs-2 {
		t.Errorf("second push uploaded %d blobs, skipped %d; want 2, %d", res.BlobsUploaded, res.BlobsSkipped, blobs-2)
	}
	if got := log.take(); got["PUT upload"] != 2 {
		t.Errorf("second push: requests %v, want 2 uploads", got)
	}
}
