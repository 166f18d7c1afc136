package referrer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/spec"
)

func TestLink(t *testing.T) {
	for _, st := range testutil.ReferrerStores() {
		t.Run(st.Name, func(t *testing.T) {
			ctx := context.Background()
			target, reopen := st.Open(t)
			id := pushIdentity(t, target)
			images := reopen("images")
			image := pushImage(t, images, "built by the run")

			cases := []struct {
				name     string
				artifact string
				ref      referrer.IdentityRef
				opts     referrer.LinkOptions
			}{
				{name: "identity in the same repository", artifact: pushImage(t, target, "same repo").Digest.String(),
					ref: referrer.IdentityRef{Reference: "run", Repository: "registry.example/runs"}},
				{name: "identity in another repository", artifact: image.Digest.String(),
					ref:  referrer.IdentityRef{Reference: id.Digest.String(), Repository: "other.example:5000/team/runs"},
					opts: referrer.LinkOptions{IdentityStore: reopen("runs")}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					store := target
					if tc.opts.IdentityStore != nil {
						store = images
					}
					res, err := referrer.Link(ctx, store, tc.artifact, tc.ref, tc.opts)
					if err != nil {
						t.Fatal(err)
					}
					if res.Identity.Digest != id.Digest || res.Identity.Repository != tc.ref.Repository || res.Subject.Digest.String() != tc.artifact {
						t.Fatalf("result identity %v subject %s", res.Identity, res.Subject.Digest)
					}
					if res.Descriptor.ArtifactType != mediatype.Link || res.Descriptor.Annotations[mediatype.AnnotationIdentity] != id.Digest.String() {
						t.Errorf("descriptor %+v", res.Descriptor)
					}
					fresh := reopen("runs")
					if tc.opts.IdentityStore != nil {
						fresh = reopen("images")
					}
					if !hasDigest(referrers(t, fresh, res.Subject), res.Descriptor.Digest) {
						t.Fatal("the artifact does not list the link")
					}
					mb, err := content.FetchAll(ctx, fresh, res.Descriptor)
					if err != nil {
						t.Fatal(err)
					}
					l, err := spec.ParseLink(mb, res.Link.DocumentBytes)
					if err != nil || l.Document.Identity != res.Identity {
						t.Fatalf("link reads back as %+v, %v", l, err)
					}
					again, err := referrer.Link(ctx, store, tc.artifact, tc.ref, tc.opts)
					if err != nil || again.Descriptor.Digest != res.Descriptor.Digest {
						t.Errorf("linking again: %v, %v; want the same link %s", again.Descriptor.Digest, err, res.Descriptor.Digest)
					}
					n := 0
					for _, r := range referrers(t, fresh, res.Subject) {
						if r.Digest == res.Descriptor.Digest {
							n++
						}
					}
					if n != 1 {
						t.Errorf("the link is listed %d times", n)
					}
				})
			}
		})
	}
}

func TestLinkBadInput(t *testing.T) {
	for _, st := range testutil.ReferrerStores() {
		t.Run(st.Name, func(t *testing.T) {
			ctx := context.Background()
			target, _ := st.Open(t)
			id := pushIdentity(t, target)
			image := pushImage(t, target, "an image")
			other := pushImage(t, target, "another image")
			empty := ocispec.DescriptorEmptyJSON

			cases := []struct {
				name     string
				artifact string
				ref      referrer.IdentityRef
				want     error
			}{
				{name: "identity missing", artifact: image.Digest.String(), ref: referrer.IdentityRef{Reference: digest.FromString("no identity").String(), Repository: "r.example/runs"}, want: referrer.ErrNotFound},
				{name: "identity tag missing", artifact: image.Digest.String(), ref: referrer.IdentityRef{Reference: "nope", Repository: "r.example/runs"}, want: referrer.ErrNotFound},
				{name: "identity is an image", artifact: image.Digest.String(), ref: referrer.IdentityRef{Reference: other.Digest.String(), Repository: "r.example/runs"}, want: referrer.ErrNotIdentity},
				{name: "artifact missing", artifact: digest.FromString("no artifact").String(), ref: referrer.IdentityRef{Reference: "run", Repository: "r.example/runs"}, want: referrer.ErrNotFound},
				{name: "artifact is a blob", artifact: empty.Digest.String(), ref: referrer.IdentityRef{Reference: "run", Repository: "r.example/runs"}, want: referrer.ErrNotFound},
				{name: "repository with a digest", artifact: image.Digest.String(), ref: referrer.IdentityRef{Reference: "run", Repository: "r.example/runs@" + id.Digest.String()}, want: spec.ErrInvalidLink},
				{name: "no repository", artifact: image.Digest.String(), ref: referrer.IdentityRef{Reference: "run"}, want: spec.ErrInvalidLink},
				{name: "linking the identity to itself", artifact: id.Digest.String(), ref: referrer.IdentityRef{Reference: "run", Repository: "r.example/runs"}, want: spec.ErrInvalidLink},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if _, err := referrer.Link(ctx, target, tc.artifact, tc.ref, referrer.LinkOptions{}); !errors.Is(err, tc.want) {
						t.Fatalf("error %v, want %v", err, tc.want)
					}
				})
			}
			for _, d := range []ocispec.Descriptor{image, other, id} {
				if refs := referrers(t, target, d); len(refs) != 0 {
					t.Errorf("failed links left referrers of %s: %v", d.Digest, refs)
				}
			}
		})
	}
}
