package referrer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/spec"
)

const minimalDecl = "../../testdata/examples/minimal/runid.yaml"

// pushIdentity pushes the minimal example identity and returns its
// manifest descriptor.
func pushIdentity(t *testing.T, target oras.Target) ocispec.Descriptor {
	t.Helper()
	return testutil.Push(t, target, testutil.Load(t, minimalDecl), "run")
}

// pushImage pushes a small image-like manifest (not an identity) and
// returns its descriptor.
func pushImage(t *testing.T, target oras.Target, label string) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	layer := []byte("layer of " + label)
	ld := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	cd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	for _, b := range []struct {
		d ocispec.Descriptor
		b []byte
	}{{ld, layer}, {cd, cfg}} {
		if err := target.Push(ctx, b.d, bytes.NewReader(b.b)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			t.Fatal(err)
		}
	}
	return testutil.PushManifest(t, target, ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cd, Layers: []ocispec.Descriptor{ld}, Annotations: map[string]string{"label": label}})
}

// referrers lists the referrers of subject as a fresh client sees them.
func referrers(t *testing.T, store oras.ReadOnlyTarget, subject ocispec.Descriptor) []ocispec.Descriptor {
	t.Helper()
	gs, ok := store.(content.ReadOnlyGraphStorage)
	if !ok {
		t.Fatalf("%T cannot list referrers", store)
	}
	refs, err := registry.Referrers(context.Background(), gs, subject, "")
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func hasDigest(refs []ocispec.Descriptor, d digest.Digest) bool {
	for _, r := range refs {
		if r.Digest == d {
			return true
		}
	}
	return false
}

func TestAttach(t *testing.T) {
	for _, st := range testutil.ReferrerStores() {
		t.Run(st.Name, func(t *testing.T) {
			ctx := context.Background()
			target, reopen := st.Open(t)
			id := pushIdentity(t, target)
			files := testutil.OutputFiles(t, map[string]string{"answer.md": "Canberra.\n"})
			files = append(files, referrer.OutputFile{Path: files[0].Path, Name: "copies/answer.txt", MediaType: "text/plain"})
			var events atomic.Int64
			res, err := referrer.Attach(ctx, target, "run", files, referrer.AttachOptions{
				Execution: map[string]any{spec.FactInstanceID: "run-1", spec.FactExitCode: 0, spec.FactStatus: spec.StatusSucceeded},
				External:  []ocispec.Descriptor{{MediaType: "text/csv", Digest: digest.FromString("elsewhere"), Size: 9, URLs: []string{"https://example.com/r.csv"}}},
				Created:   time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
				Progress:  func(pack.Event) { events.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Subject.Digest != id.Digest || res.Descriptor.ArtifactType != mediatype.OutputRecord || res.IndexAttempts != 1 {
				t.Fatalf("result subject %s artifactType %s attempts %d", res.Subject.Digest, res.Descriptor.ArtifactType, res.IndexAttempts)
			}
			if res.Descriptor.Annotations[mediatype.AnnotationCreated] != "2025-03-01T10:00:00Z" {
				t.Errorf("created %q", res.Descriptor.Annotations[mediatype.AnnotationCreated])
			}
			if events.Load() == 0 {
				t.Error("no progress event")
			}

			// Another client lists the record as a referrer of the identity.
			other := reopen("runs")
			if refs := referrers(t, other, id); !hasDigest(refs, res.Descriptor.Digest) {
				t.Fatalf("referrers of the identity %v do not include the record %s", refs, res.Descriptor.Digest)
			}
			// The record reads back and verifies as an output record.
			mb, err := content.FetchAll(ctx, other, res.Descriptor)
			if err != nil {
				t.Fatal(err)
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(mb, &m); err != nil {
				t.Fatal(err)
			}
			db, err := content.FetchAll(ctx, other, m.Config)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := spec.ParseOutputRecord(mb, db)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Files()) != 2 || rec.Files()[1].Annotations[mediatype.AnnotationTitle] != "copies/answer.txt" || rec.Files()[1].MediaType != "text/plain" {
				t.Errorf("files %+v", rec.Files())
			}
			for _, f := range rec.Files() {
				b, err := content.FetchAll(ctx, other, f)
				if err != nil || string(b) != "Canberra.\n" {
					t.Errorf("file %s: %q, %v", f.Annotations[mediatype.AnnotationTitle], b, err)
				}
			}
			if rec.Document.Execution[spec.FactInstanceID] != "run-1" || len(rec.Document.External) != 1 {
				t.Errorf("document %+v", rec.Document)
			}

			// The tag schema is used exactly where the registry has no
			// referrers API (listing first keeps oras-go from writing a
			// fallback tag on a registry that has the API).
			tag, _ := referrer.FallbackTag(id.Digest)
			_, err = other.Resolve(ctx, tag)
			if st.TagSchema != (err == nil) {
				t.Errorf("fallback tag %s: resolve error %v, want present=%v", tag, err, st.TagSchema)
			}

			// A record without files carries the empty layer.
			empty, err := referrer.Attach(ctx, target, id.Digest.String(), nil, referrer.AttachOptions{Execution: map[string]any{spec.FactStatus: spec.StatusFailed}})
			if err != nil {
				t.Fatal(err)
			}
			if len(empty.Files) != 0 || !hasDigest(referrers(t, reopen("runs"), id), empty.Descriptor.Digest) {
				t.Errorf("record without files: files %v, listed %v", empty.Files, hasDigest(referrers(t, reopen("runs"), id), empty.Descriptor.Digest))
			}
		})
	}
}

// TestAttachData attaches files held in memory (OutputFile.Data): the
// record is the one the same files on disk make, byte for byte, and names
// are checked as for files.
func TestAttachData(t *testing.T) {
	ctx := context.Background()
	target, err := oci.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := pushIdentity(t, target)
	onDisk := testutil.OutputFiles(t, map[string]string{"response.json": `{"model":"m"}`})
	onDisk[0].MediaType = "application/json"
	opts := referrer.AttachOptions{Execution: map[string]any{spec.FactStatus: spec.StatusSucceeded}, Created: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	fromFile, err := referrer.Attach(ctx, target, "run", onDisk, opts)
	if err != nil {
		t.Fatal(err)
	}
	inMemory := []referrer.OutputFile{{Name: "response.json", MediaType: "application/json", Data: []byte(`{"model":"m"}`)}}
	fromData, err := referrer.Attach(ctx, target, "run", inMemory, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fromData.Descriptor.Digest != fromFile.Descriptor.Digest || !bytes.Equal(fromData.Record.ManifestBytes, fromFile.Record.ManifestBytes) {
		t.Fatalf("record from memory %s, from the file %s", fromData.Descriptor.Digest, fromFile.Descriptor.Digest)
	}
	// An empty file held in memory is a file.
	empty, err := referrer.Attach(ctx, target, id.Digest.String(), []referrer.OutputFile{{Name: "empty.txt", Data: []byte{}}}, opts)
	if err != nil || len(empty.Files) != 1 || empty.Files[0].Size != 0 {
		t.Fatalf("empty file: %+v, %v", empty.Files, err)
	}
	b, err := content.FetchAll(ctx, target, fromData.Files[0])
	if err != nil || string(b) != `{"model":"m"}` {
		t.Fatalf("file read back: %q, %v", b, err)
	}
	for _, tc := range []struct {
		files []referrer.OutputFile
		want  error
	}{
		{[]referrer.OutputFile{{Data: []byte("x")}}, spec.ErrInvalidName},
		{[]referrer.OutputFile{{Name: "../x", Data: []byte("x")}}, spec.ErrInvalidName},
		{[]referrer.OutputFile{{Name: "a.txt", Data: []byte("x")}, {Name: "A.txt", Data: []byte("y")}}, spec.ErrDuplicateName},
	} {
		if _, err := referrer.Attach(ctx, target, "run", tc.files, opts); !errors.Is(err, tc.want) {
			t.Errorf("%+v: error %v, want %v", tc.files, err, tc.want)
		}
	}
}

// TestAttachKnownSubject: with AttachOptions.Subject, Attach trusts the
// identity the caller pushed instead of reading it again, and makes the
// same record; a Subject that is not what the reference names, not an
// identity, or not in the target fails.
func TestAttachKnownSubject(t *testing.T) {
	ctx := context.Background()
	opts := referrer.AttachOptions{Execution: map[string]any{spec.FactStatus: spec.StatusSucceeded}, Created: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	files := []referrer.OutputFile{{Name: "response.json", MediaType: "application/json", Data: []byte(`{"model":"m"}`)}}
	for _, st := range testutil.ReferrerStores() {
		t.Run(st.Name, func(t *testing.T) {
			target, _ := st.Open(t)
			res, err := pack.Push(ctx, target, testutil.Load(t, minimalDecl), pack.PushOptions{Tag: "run"})
			if err != nil {
				t.Fatal(err)
			}
			read, err := referrer.Attach(ctx, target, "run", files, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range []string{"run", res.Descriptor.Digest.String()} {
				known := opts
				known.Subject = &res.Descriptor
				trusted, err := referrer.Attach(ctx, target, ref, files, known)
				if err != nil {
					t.Fatalf("%s: %v", ref, err)
				}
				if trusted.Descriptor.Digest != read.Descriptor.Digest || trusted.Subject.Digest != res.Descriptor.Digest {
					t.Fatalf("%s: record %s with Subject, %s without", ref, trusted.Descriptor.Digest, read.Descriptor.Digest)
				}
			}
		})
	}

	target, err := oci.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := pushIdentity(t, target)
	id.ArtifactType = mediatype.Identity
	elsewhere, err := oci.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other := pushImage(t, elsewhere, "other")
	image := pushImage(t, target, "image")
	mod := func(f func(d *ocispec.Descriptor)) *ocispec.Descriptor {
		d := id
		f(&d)
		return &d
	}
	tests := []struct {
		name    string
		ref     string
		subject *ocispec.Descriptor
		want    error
	}{
		{"another digest than the reference", id.Digest.String(), &other, referrer.ErrNotIdentity},
		{"another digest than the tag", "run", mod(func(d *ocispec.Descriptor) { d.Digest = other.Digest }), referrer.ErrNotIdentity},
		{"an image, not an identity", image.Digest.String(), mod(func(d *ocispec.Descriptor) {
			d.Digest, d.Size, d.ArtifactType = image.Digest, image.Size, "application/vnd.example"
		}), referrer.ErrNotIdentity},
		{"an index", id.Digest.String(), mod(func(d *ocispec.Descriptor) { d.MediaType = ocispec.MediaTypeImageIndex }), referrer.ErrNotIdentity},
		{"no size", id.Digest.String(), mod(func(d *ocispec.Descriptor) { d.Size = 0 }), referrer.ErrNotIdentity},
		{"not in the target", other.Digest.String(), mod(func(d *ocispec.Descriptor) { d.Digest, d.Size = other.Digest, other.Size }), referrer.ErrNotFound},
		{"an unknown tag", "absent", mod(func(*ocispec.Descriptor) {}), referrer.ErrNotFound},
		{"no reference", "", mod(func(*ocispec.Descriptor) {}), referrer.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := opts
			o.Subject = tc.subject
			if _, err := referrer.Attach(ctx, target, tc.ref, files, o); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAttachBadInput(t *testing.T) {
	for _, st := range testutil.ReferrerStores() {
		t.Run(st.Name, func(t *testing.T) {
			ctx := context.Background()
			target, _ := st.Open(t)
			id := pushIdentity(t, target)
			image := pushImage(t, target, "not an identity")
			good := testutil.OutputFiles(t, map[string]string{"a.txt": "a"})

			// An identity one of whose component blobs was deleted.
			c, err := pack.Load(ctx, "../../testdata/examples/rag-agent/runid.yaml", pack.BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pack.Push(ctx, target, c, pack.PushOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := target.(content.Deleter).Delete(ctx, c.Identity.Manifest.Layers[len(c.Identity.Manifest.Layers)-1]); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()

			cases := []struct {
				name  string
				ref   string
				files []referrer.OutputFile
				opts  referrer.AttachOptions
				want  error
			}{
				{name: "identity does not exist", ref: digest.FromString("nothing").String(), files: good, want: referrer.ErrNotFound},
				{name: "tag does not exist", ref: "no-such-tag", files: good, want: referrer.ErrNotFound},
				{name: "subject is not an identity", ref: image.Digest.String(), files: good, want: referrer.ErrNotIdentity},
				{name: "identity blobs missing", ref: c.Digest().String(), files: good, want: referrer.ErrNotIdentity},
				{name: "missing file", ref: "run", files: []referrer.OutputFile{{Path: filepath.Join(dir, "nope")}}, want: referrer.ErrOutputFile},
				{name: "directory", ref: "run", files: []referrer.OutputFile{{Path: dir, Name: "d"}}, want: referrer.ErrOutputFile},
				{name: "duplicate names", ref: "run", files: append(good, referrer.OutputFile{Path: good[0].Path, Name: "A.TXT"}), want: spec.ErrDuplicateName},
				{name: "escaping name", ref: "run", files: []referrer.OutputFile{{Path: good[0].Path, Name: "../a.txt"}}, want: spec.ErrInvalidName},
				{name: "bad facts", ref: "run", files: good, opts: referrer.AttachOptions{Execution: map[string]any{spec.FactStartedAt: "yesterday"}}, want: spec.ErrInvalidOutput},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := referrer.Attach(ctx, target, tc.ref, tc.files, tc.opts)
					if !errors.Is(err, tc.want) {
						t.Fatalf("error %v, want %v", err, tc.want)
					}
				})
			}
			if refs := referrers(t, target, id); len(refs) != 0 {
				t.Errorf("failed attaches left referrers: %v", refs)
			}
		})
	}
}

// lossyIndex wraps a registry handler: the first n PUTs of a referrers
// tag-schema index are answered 201 Created but not stored, as if another
// process had overwritten the index right after.
type lossyIndex struct {
	next http.Handler
	lose atomic.Int64
	lost atomic.Int64
}

func (h *lossyIndex) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") && h.lose.Add(-1) >= 0 {
		body := new(bytes.Buffer)
		body.ReadFrom(r.Body)
		h.lost.Add(1)
		w.Header().Set("Docker-Content-Digest", digest.FromBytes(body.Bytes()).String())
		w.WriteHeader(http.StatusCreated)
		return
	}
	h.next.ServeHTTP(w, r)
}

func TestAttachLostIndexUpdate(t *testing.T) {
	cases := []struct {
		name         string
		lose         int
		attempts     int
		wantAttempts int
		wantErr      error
	}{
		// The index update of the push is lost; the referrer tag's own index
		// update then lists the record: no second push.
		{name: "one lost update is put back", lose: 1, attempts: 0, wantAttempts: 1},
		// The push's update, the referrer tag and its update are lost:
		// nothing to put back from, so the manifest is pushed again.
		{name: "three lost updates", lose: 3, attempts: 0, wantAttempts: 2},
		{name: "bounded", lose: 1000, attempts: 3, wantAttempts: 3, wantErr: referrer.ErrReferrersIndex},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := &lossyIndex{next: testregistry.NewDistributionHandler(t)}
			reg := testregistry.Serve(t, h)
			target := testregistry.Repository(t, reg, "runs")
			id := pushIdentity(t, target)
			h.lose.Store(int64(tc.lose))
			res, err := referrer.Attach(ctx, target, "run", testutil.OutputFiles(t, map[string]string{"o.txt": "o"}),
				referrer.AttachOptions{Index: referrer.IndexOptions{Attempts: tc.attempts, Settle: 10 * time.Millisecond}})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if res.IndexAttempts != tc.wantAttempts {
				t.Errorf("IndexAttempts %d, want %d (lost %d index writes)", res.IndexAttempts, tc.wantAttempts, h.lost.Load())
			}
			listed := hasDigest(referrers(t, testregistry.Repository(t, reg, "runs"), id), res.Descriptor.Digest)
			if listed != (tc.wantErr == nil) {
				t.Errorf("record listed = %v after error %v", listed, err)
			}
		})
	}
}

// TestAttachConcurrentClients attaches records to one identity on a
// registry without the referrers API from many goroutines, each with its
// own repository client: oras-go serialises index updates only within one
// client, so they race like separate processes (the CLI test runs real
// separate processes).
func TestAttachConcurrentClients(t *testing.T) {
	ctx := context.Background()
	reg := testregistry.StartDistribution(t)
	id := pushIdentity(t, testregistry.Repository(t, reg, "runs"))
	const n = 12
	digests := make([]digest.Digest, n)
	attempts := make([]int, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			files := testutil.OutputFiles(t, map[string]string{"out.txt": fmt.Sprintf("output %d", i)})
			res, err := referrer.Attach(ctx, testregistry.Repository(t, reg, "runs"), id.Digest.String(), files, referrer.AttachOptions{})
			if err != nil {
				errs <- err
				return
			}
			digests[i], attempts[i] = res.Descriptor.Digest, res.IndexAttempts
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	refs := referrers(t, testregistry.Repository(t, reg, "runs"), id)
	for i, d := range digests {
		if !hasDigest(refs, d) {
			t.Errorf("record %d (%s) is not listed; %d referrers listed", i, d, len(refs))
		}
	}
	t.Logf("%d concurrent clients: %d referrers listed; index pushes per record: %v", n, len(refs), attempts)
}
