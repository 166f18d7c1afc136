package referrer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/errdef"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack/referrer"
)

func TestTag(t *testing.T) {
	d := digest.FromString("x")
	tag, err := referrer.FallbackTag(d)
	if err != nil || tag != "sha256-"+d.Encoded() {
		t.Fatalf("Tag = %q, %v", tag, err)
	}
	long := digest.NewDigestFromEncoded(digest.SHA512, strings.Repeat("a", 128))
	if tag, err := referrer.FallbackTag(long); err != nil || len(tag) != 128 || !strings.HasPrefix(tag, "sha512-") {
		t.Fatalf("sha512 Tag = %q (%d), %v; want 128 characters", tag, len(tag), err)
	}
	if _, err := referrer.FallbackTag("sha256:xyz"); err == nil {
		t.Fatal("Tag of an invalid digest: no error")
	}
}

// pushManifest pushes a manifest of the given media type, with an empty
// config, and returns its descriptor.
func pushManifest(t *testing.T, ctx context.Context, target oras.Target, mediaType string, v any, tag string) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := target.Push(ctx, desc, bytes.NewReader(b)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Fatal(err)
	}
	if tag != "" {
		if err := target.Tag(ctx, desc, tag); err != nil {
			t.Fatal(err)
		}
	}
	return desc
}

func TestReadOnDistribution(t *testing.T) {
	ctx := context.Background()
	reg := testregistry.StartDistribution(t)
	repo := testregistry.Repository(t, reg, "fallback")
	empty := ocispec.DescriptorEmptyJSON
	if err := repo.Push(ctx, empty, bytes.NewReader(empty.Data)); err != nil {
		t.Fatal(err)
	}
	image := pushManifest(t, ctx, repo, ocispec.MediaTypeImageManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: empty, Layers: []ocispec.Descriptor{empty}}, "")
	other := pushManifest(t, ctx, repo, ocispec.MediaTypeImageManifest, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, ArtifactType: "application/x-other",
		Config: empty, Layers: []ocispec.Descriptor{empty}}, "")
	tag, _ := referrer.FallbackTag(image.Digest)

	t.Run("missing", func(t *testing.T) {
		_, _, err := referrer.ReadFallback(ctx, repo, image.Digest, 0)
		if !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("error %v, want ErrNotFound", err)
		}
	})
	t.Run("not an index", func(t *testing.T) {
		// Distribution accepts any manifest under any tag.
		if err := repo.Tag(ctx, other, tag); err != nil {
			t.Fatal(err)
		}
		_, _, err := referrer.ReadFallback(ctx, repo, image.Digest, 0)
		if !errors.Is(err, referrer.ErrFallbackNotIndex) {
			t.Fatalf("error %v, want ErrNotIndex", err)
		}
	})
	t.Run("index", func(t *testing.T) {
		idx := pushManifest(t, ctx, repo, ocispec.MediaTypeImageIndex, ocispec.Index{
			Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
			Manifests: []ocispec.Descriptor{other}}, tag)
		desc, refs, err := referrer.ReadFallback(ctx, repo, image.Digest, 0)
		if err != nil {
			t.Fatal(err)
		}
		if desc.Digest != idx.Digest || len(refs) != 1 || refs[0].Digest != other.Digest {
			t.Fatalf("Read = %v %v, want index %s listing %s", desc.Digest, refs, idx.Digest, other.Digest)
		}
		if _, _, err := referrer.ReadFallback(ctx, repo, image.Digest, 10); !errors.Is(err, referrer.ErrTooLarge) {
			t.Fatalf("10-byte cap: error %v, want ErrTooLarge", err)
		}
	})
}

// garbage serves bytes that are not JSON, labelled as an image index, for
// every manifest request whose reference is a sha256-* tag; it passes
// everything else to next.
func garbage(next http.Handler, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/sha256-") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Header().Set("Docker-Content-Digest", digest.FromBytes(body).String())
			if r.Method == http.MethodGet {
				w.Write(body)
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestReadGarbage(t *testing.T) {
	ctx := context.Background()
	for name, body := range map[string][]byte{
		"binary":       {0xff, 0x00, 0x13, 0x37},
		"truncated":    []byte(`{"schemaVersion":2,"manifests":[`),
		"wrong member": []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}`),
	} {
		t.Run(name, func(t *testing.T) {
			reg := testregistry.Serve(t, garbage(testregistry.NewDistributionHandler(t), body))
			repo := testregistry.Repository(t, reg, "garbage")
			_, _, err := referrer.ReadFallback(ctx, repo, digest.FromString("subject"), 0)
			if !errors.Is(err, referrer.ErrFallbackMalformed) && !errors.Is(err, referrer.ErrFallbackNotIndex) {
				t.Fatalf("error %v, want ErrMalformed or ErrNotIndex", err)
			}
		})
	}
}
