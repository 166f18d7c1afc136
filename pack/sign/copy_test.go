package sign_test

import (
	"errors"
	"slices"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// copyStore is a kind of store to copy from or to.
type copyStore struct {
	name string
	open func(t testing.TB) oras.GraphTarget
}

var copyStores = []copyStore{
	{"ggcr", func(t testing.TB) oras.GraphTarget {
		return testregistry.Repository(t, testregistry.StartGGCR(t), "runs/copy")
	}},
	{"distribution", func(t testing.TB) oras.GraphTarget {
		return testregistry.Repository(t, testregistry.StartDistribution(t), "runs/copy")
	}},
	{"layout", func(t testing.TB) oras.GraphTarget {
		s, _ := testutil.NewLayout(t)
		return s
	}},
}

// signedGraph is an identity with everything that refers to it.
type signedGraph struct {
	identity ocispec.Descriptor
	record   ocispec.Descriptor   // a referrer of the identity, signed itself
	refs     []ocispec.Descriptor // every referrer of the identity
}

// buildSignedGraph pushes an identity, signs it in both formats, attaches a
// referrer standing for an output record and signs that too.
func buildSignedGraph(t testing.TB, target oras.Target, k signKeyDir) signedGraph {
	t.Helper()
	ctx := t.Context()
	g := signedGraph{identity: pushExample(t, target, "rag-agent")}
	tagSig, err := sign.Sign(ctx, target, g.identity.Digest.String(), k.signer, sign.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bundleSig, err := sign.Sign(ctx, target, g.identity.Digest.String(), k.signer, sign.SignOptions{Format: sign.SignatureFormatBundle})
	if err != nil {
		t.Fatal(err)
	}
	subject := g.identity
	g.record, err = oras.PackManifest(ctx, target, oras.PackManifestVersion1_1, mediatype.OutputRecord, oras.PackManifestOptions{Subject: &subject})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, target, g.record.Digest.String(), k.signer, sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	g.refs = []ocispec.Descriptor{tagSig.Signature, bundleSig.Signature, g.record}
	return g
}

// checkGraphAt checks that the whole graph verifies and is discovered in
// store.
func checkGraphAt(t testing.TB, store oras.ReadOnlyGraphTarget, g signedGraph, k signKeyDir, wantSigTag bool) {
	t.Helper()
	ctx := t.Context()
	if _, err := pull.Verify(ctx, store, g.identity.Digest.String(), pull.VerifyOptions{}); err != nil {
		t.Errorf("identity content does not verify at the destination: %v", err)
	}
	rep, err := sigverify.VerifySignatures(ctx, store, g.identity, k.pub, sigverify.Options{})
	if err != nil {
		t.Fatalf("identity signatures at the destination: %v", err)
	}
	if rep.Verified != 2 {
		t.Errorf("%d identity signatures verify at the destination, want 2 (tag and bundle): %+v", rep.Verified, rep.Signatures)
	}
	for _, s := range rep.Signatures {
		if s.Format == pull.SignatureFormatTag && (s.Found == "tag,referrers") != wantSigTag {
			t.Errorf("tag-format signature found in %q", s.Found)
		}
	}
	if rep, err := sigverify.VerifySignatures(ctx, store, g.record, k.pub, sigverify.Options{}); err != nil || rep.Verified != 1 {
		t.Errorf("record signature at the destination: %v %+v", err, rep)
	}
	refs, err := registry.Referrers(ctx, store, g.identity, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range g.refs {
		if !slices.ContainsFunc(refs, func(d ocispec.Descriptor) bool { return d.Digest == want.Digest }) {
			t.Errorf("referrer %s (%s) is not discovered at the destination", want.Digest, want.ArtifactType)
		}
	}
	tag, _ := spec.SignatureTag(g.identity.Digest)
	if _, err := store.Resolve(ctx, tag); (err == nil) != wantSigTag {
		t.Errorf("signature tag %s at the destination: %v", tag, err)
	}
}

// TestCopy copies a signed identity with its referrers between registries
// with and without the referrers API and OCI layouts, in every direction,
// and checks that everything verifies and is discovered at the destination.
func TestCopy(t *testing.T) {
	k := newSignKey(t, false)
	for _, from := range copyStores {
		for _, to := range copyStores {
			if from.name == to.name {
				continue
			}
			t.Run(from.name+"-to-"+to.name, func(t *testing.T) {
				src, dst := from.open(t), to.open(t)
				g := buildSignedGraph(t, src, k)
				res, err := pack.Copy(t.Context(), src, "rag-agent", dst, "", pack.CopyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Descriptor.Digest != g.identity.Digest || res.Tag != "rag-agent" {
					t.Errorf("result %+v", res)
				}
				// The identity's referrers and the record's tag-format
				// signature manifest.
				if len(res.Referrers) != len(g.refs)+1 || len(res.SignatureTags) != 2 {
					t.Errorf("copied %d referrers and signature tags %v, want %d and 2", len(res.Referrers), res.SignatureTags, len(g.refs)+1)
				}
				if d, err := dst.Resolve(t.Context(), "rag-agent"); err != nil || d.Digest != g.identity.Digest {
					t.Errorf("destination tag: %v %v", d.Digest, err)
				}
				checkGraphAt(t, dst, g, k, true)

				// Copying again changes nothing and still works.
				if _, err := pack.Copy(t.Context(), src, g.identity.Digest.String(), dst, "again", pack.CopyOptions{}); err != nil {
					t.Fatalf("second copy: %v", err)
				}
			})
		}
	}
}

func TestCopyErrors(t *testing.T) {
	src, _ := testutil.NewLayout(t)
	dst, _ := testutil.NewLayout(t)
	k := newSignKey(t, false)
	buildSignedGraph(t, src, k)
	if _, err := pack.Copy(t.Context(), src, "missing", dst, "", pack.CopyOptions{}); !errors.Is(err, pack.ErrCopy) || !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("missing source: %v", err)
	}
	if _, err := pack.Copy(t.Context(), src, "rag-agent", dst, "", pack.CopyOptions{MaxReferrers: 2}); !errors.Is(err, pack.ErrTooManyReferrers) {
		t.Errorf("bounded referrers: %v", err)
	}
}

// TestOrasCopyKeepsSignatures: the stock "oras cp -r" carries referrers but
// not cosign's .sig tags. Because runid-oci gives its tag-format signature
// manifest a subject, the signature still verifies at the destination.
func TestOrasCopyKeepsSignatures(t *testing.T) {
	k := newSignKey(t, false)
	orasBin := clitools.Oras(t)
	for _, tc := range []struct{ from, to string }{{"ggcr", "distribution"}, {"distribution", "ggcr"}} {
		t.Run(tc.from+"-to-"+tc.to, func(t *testing.T) {
			start := map[string]func(testing.TB) *testregistry.Registry{"ggcr": testregistry.StartGGCR, "distribution": testregistry.StartDistribution}
			srcReg, dstReg := start[tc.from](t), start[tc.to](t)
			src := testregistry.Repository(t, srcReg, "runs/src")
			dst := testregistry.Repository(t, dstReg, "runs/dst")
			g := buildSignedGraph(t, src, k)
			cmd := clitools.Command(t, orasBin, "cp", "-r", "--from-plain-http", "--to-plain-http",
				srcReg.Ref("runs/src", "rag-agent"), dstReg.Ref("runs/dst", "rag-agent"))
			cmd.Env = append(cmd.Environ(), "HOME="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("oras cp -r: %v\n%s", err, out)
			}
			checkGraphAt(t, dst, g, k, false)
		})
	}
}
