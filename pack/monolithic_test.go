package pack_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack"
)

func componentBytes(t *testing.T, c pack.Component) []byte {
	t.Helper()
	rc, err := c.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkBlobs fetches every blob of c from repo and compares it with the
// component's bytes (the identity document with its own).
func checkBlobs(t *testing.T, ctx context.Context, repo *remote.Repository, c *pack.Composition) {
	t.Helper()
	got, err := content.FetchAll(ctx, repo, c.Identity.ConfigDescriptor())
	if err != nil || !bytes.Equal(got, c.Identity.DocumentBytes) {
		t.Fatalf("identity document in the registry: %v (equal %v)", err, bytes.Equal(got, c.Identity.DocumentBytes))
	}
	for _, comp := range c.Components {
		want := componentBytes(t, comp)
		got, err := content.FetchAll(ctx, repo, comp.Descriptor())
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("component %s in the registry: %v (equal %v)", comp.Name, err, bytes.Equal(got, want))
		}
	}
}

// TestPushSinglePOST pushes small blobs to go-containerregistry's registry,
// which takes an upload in one POST: every blob goes up in one request
// (the others waiting for the first to show that the registry takes them).
func TestPushSinglePOST(t *testing.T) {
	const docs = 40
	log := &requestLog{next: testregistry.NewGGCRHandler(t), counts: map[string]int{}}
	repo := testregistry.Repository(t, testregistry.Serve(t, log), "runs/docs")
	ctx := t.Context()
	first := load(t, writeDocsDecl(t, t.TempDir(), docs, "first"))
	blobs, size := distinctBlobs(first)
	res, err := pack.Push(ctx, repo, first, pack.PushOptions{Tag: "v1"})
	if err != nil {
		t.Fatalf("first push: %v", err)
	}
	if res.BlobsUploaded != blobs || res.BytesUploaded != size {
		t.Errorf("first push uploaded %d blobs (%d bytes), want %d (%d bytes)", res.BlobsUploaded, res.BytesUploaded, blobs, size)
	}
	got := log.take()
	if got["POST single"] != blobs || got["POST mount"] != 0 || got["PUT upload"] != 0 {
		t.Errorf("first push: requests %v; want %d single POSTs and nothing else per blob", got, blobs)
	}
	checkBlobs(t, ctx, repo, first)
	if d, err := repo.Resolve(ctx, "v1"); err != nil || d.Digest != first.Digest() {
		t.Fatalf("tag v1 -> %v (%v), want %s", d.Digest, err, first.Digest())
	}

	second := load(t, writeDocsDecl(t, t.TempDir(), docs, "second"))
	if _, err := pack.Push(ctx, repo, second, pack.PushOptions{Tag: "v2"}); err != nil {
		t.Fatalf("second push: %v", err)
	}
	n, _ := distinctBlobs(second)
	if got := log.take(); got["POST single"] != n || got["POST mount"] != 0 || got["PUT upload"] != 0 {
		t.Errorf("second push: requests %v, want %d single POSTs and nothing else per blob", got, n)
	}
	checkBlobs(t, ctx, repo, second)
}

// TestPushSinglePOSTFallsBack pushes to CNCF Distribution, which ignores
// the digest of a POST and opens an upload session: the blob of that one
// POST is completed with a PUT, the others take the two-request way, and a
// later push to the same registry sends no single POST.
func TestPushSinglePOSTFallsBack(t *testing.T) {
	const docs = 40
	log := &requestLog{next: testregistry.NewDistributionHandler(t), counts: map[string]int{}}
	repo := testregistry.Repository(t, testregistry.Serve(t, log), "runs/docs")
	ctx := t.Context()
	first := load(t, writeDocsDecl(t, t.TempDir(), docs, "first"))
	blobs, _ := distinctBlobs(first)
	if _, err := pack.Push(ctx, repo, first, pack.PushOptions{Tag: "v1"}); err != nil {
		t.Fatalf("first push: %v", err)
	}
	if got := log.take(); got["POST single"] != 1 || got["POST mount"] != blobs-1 || got["PUT upload"] != blobs {
		t.Errorf("first push: requests %v, want 1 single POST, %d mounts, %d PUTs", got, blobs-1, blobs)
	}
	checkBlobs(t, ctx, repo, first)

	second := load(t, writeDocsDecl(t, t.TempDir(), docs, "second"))
	if _, err := pack.Push(ctx, repo, second, pack.PushOptions{Tag: "v2"}); err != nil {
		t.Fatalf("second push: %v", err)
	}
	if got := log.take(); got["POST single"] != 0 || got["PUT upload"] != 2 {
		t.Errorf("second push: requests %v, want no single POST and 2 uploads", got)
	}
	checkBlobs(t, ctx, repo, second)
}

// TestPushSinglePOSTRefused pushes to a registry that answers a single-POST
// upload 405 UNSUPPORTED: the blob goes up the two-request way, and so do
// all the others.
func TestPushSinglePOSTRefused(t *testing.T) {
	const docs = 20
	log := &requestLog{next: testregistry.NewGGCRHandler(t), counts: map[string]int{}, refuseSingle: true}
	repo := testregistry.Repository(t, testregistry.Serve(t, log), "runs/docs")
	ctx := t.Context()
	c := load(t, writeDocsDecl(t, t.TempDir(), docs, "first"))
	blobs, _ := distinctBlobs(c)
	res, err := pack.Push(ctx, repo, c, pack.PushOptions{Tag: "v1"})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if res.BlobsUploaded != blobs {
		t.Errorf("uploaded %d blobs, want %d", res.BlobsUploaded, blobs)
	}
	if got := log.take(); got["POST single"] != 1 || got["POST mount"] != blobs || got["PUT upload"] != blobs {
		t.Errorf("requests %v, want 1 refused single POST, then %d mount POSTs and PUTs", got, blobs)
	}
	checkBlobs(t, ctx, repo, c)
}

// TestPushSinglePOSTDigestMismatch changes a component's bytes after it was
// hashed, keeping its size, on a registry that takes single POSTs: the push
// fails with ErrComponentChanged and the registry does not have the blob.
func TestPushSinglePOSTDigestMismatch(t *testing.T) {
	reg := testregistry.StartGGCR(t)
	repo := testregistry.Repository(t, reg, "runs/docs")
	ctx := t.Context()
	// A first push teaches Push that this registry takes single POSTs.
	if _, err := pack.Push(ctx, repo, load(t, writeDocsDecl(t, t.TempDir(), 3, "first")), pack.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := load(t, writeDocsDecl(t, dir, 3, "second"))
	var victim pack.Component
	for _, comp := range c.Components {
		if comp.Name == "context/doc-000.md" {
			victim = comp
		}
	}
	want := componentBytes(t, victim)
	changed := bytes.ToUpper(want)
	writeFile(t, dir+"/docs/doc-000.md", changed)
	_, err := pack.Push(ctx, repo, c, pack.PushOptions{Concurrency: 1})
	if !errors.Is(err, pack.ErrComponentChanged) {
		t.Fatalf("push of a changed file: %v, want ErrComponentChanged", err)
	}
	if ok, err := repo.Exists(ctx, victim.Descriptor()); err != nil || ok {
		t.Errorf("the registry has the component's digest after a refused upload: %v, %v", ok, err)
	}
}

// TestSinglePOSTWrongDigest sends bytes that do not hash to the digest
// asked for: go-containerregistry's registry answers 400 DIGEST_INVALID,
// and Push reports it as a failed push.
func TestSinglePOSTWrongDigest(t *testing.T) {
	reg := testregistry.StartGGCR(t)
	repo := testregistry.Repository(t, reg, "runs/docs")
	err := pack.PushSinglePOSTForTest(t.Context(), repo, []byte("the bytes SENT!!"), []byte("the bytes hashed"))
	var er *errcode.ErrorResponse
	if !errors.As(err, &er) || er.StatusCode != http.StatusBadRequest || len(er.Errors) == 0 || er.Errors[0].Code != errcode.ErrorCodeDigestInvalid {
		t.Fatalf("single POST of wrong bytes: %v, want 400 DIGEST_INVALID", err)
	}
}
