package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2/content/memory"

	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/spec"
)

// The suite's signing keys: ECDSA P-256, as cosign makes them. They are
// test keys, published here so that anyone can re-sign the cases; the
// verifier cases hold only the public key of testKey.
const (
	testKeyPEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8HSsx8sgu4W/74Lr
ox099sWtx5RplyVPnOED2g7QHgyhRANCAARZldC6n//84Un1zRHjny4s2Na6eTiQ
/ilE2pdNtW78XkReyxtNHKQSSvPTmFNTXk8ZopIxZx6ghGO9/AuTrsxc
-----END PRIVATE KEY-----
`
	otherKeyPEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMBlbpZic3xQgsx5U
kH5DiFR1NQt41WIikavaXAEtEy6hRANCAARzK3nY29jldqhY73vefLHKePAp1KxZ
g8IBgBZ4rc7dGA4s1Prn7jVE0pWXhlPFb4W99AN0OPl/0u1M4c8eyEIl
-----END PRIVATE KEY-----
`
)

// signedAt is the creation time of every bundle-format signature manifest.
var signedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// detSigner signs with RFC 6979 deterministic ECDSA (crypto/ecdsa with no
// random source), so that the suite's signatures are the same bytes every
// time it is generated.
type detSigner struct {
	signature.SignerVerifier
	key *ecdsa.PrivateKey
}

func (s detSigner) SignMessage(msg io.Reader, _ ...signature.SignOption) ([]byte, error) {
	b, err := io.ReadAll(msg)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(b)
	return s.key.Sign(nil, h[:], crypto.SHA256)
}

func loadKey(pemText string) detSigner {
	p, _ := pem.Decode([]byte(pemText))
	k := must(x509.ParsePKCS8PrivateKey(p.Bytes)).(*ecdsa.PrivateKey)
	sv := must(signature.LoadECDSASignerVerifier(k, crypto.SHA256))
	return detSigner{SignerVerifier: sv, key: k}
}

// publicPEM is the PEM public key of s, as cosign.pub holds it.
func publicPEM(s detSigner) []byte {
	return must(cryptoutils.MarshalPublicKeyToPEM(&s.key.PublicKey))
}

// recorder is a memory store that keeps every manifest pushed and every
// tag, so that what pack.Sign writes can be laid out.
type recorder struct {
	*memory.Store
	pushed []ocispec.Descriptor
	data   map[digest.Digest][]byte
	tags   map[digest.Digest]string
}

func newRecorder() *recorder {
	return &recorder{Store: memory.New(), data: map[digest.Digest][]byte{}, tags: map[digest.Digest]string{}}
}

func (r *recorder) Push(ctx context.Context, desc ocispec.Descriptor, rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	if _, seen := r.data[desc.Digest]; !seen {
		r.pushed = append(r.pushed, desc)
	}
	r.data[desc.Digest] = b
	return r.Store.Push(ctx, desc, bytes.NewReader(b))
}

func (r *recorder) Tag(ctx context.Context, desc ocispec.Descriptor, ref string) error {
	r.tags[desc.Digest] = ref
	return r.Store.Tag(ctx, desc, ref)
}

// sign signs the manifest desc (already in l) with s in format, and adds
// the signature's blobs and manifests to l.
func signWith(l *layout, desc ocispec.Descriptor, s detSigner, format sign.SignatureFormat) {
	ctx := context.Background()
	if format == sign.SignatureFormatBundle {
		signBundle(ctx, l, desc, s)
		return
	}
	r := newRecorder()
	if err := r.Push(ctx, desc, bytes.NewReader(l.blobs[desc.Digest])); err != nil {
		panic(err)
	}
	if err := r.Tag(ctx, desc, "subject"); err != nil {
		panic(err)
	}
	if _, err := sign.Sign(ctx, r, "subject", s, sign.SignOptions{Format: format, Created: signedAt}); err != nil {
		panic(err)
	}
	for _, d := range r.pushed[1:] {
		l.blobs[d.Digest] = r.data[d.Digest]
		if d.MediaType == ocispec.MediaTypeImageManifest {
			l.list(d, r.tags[d.Digest])
		}
	}
}

// signBundle adds a bundle-format signature of desc by s, as pack.Sign
// makes it but with the bundle in RFC 8785 form: the protobuf JSON
// encoder that writes bundles varies its spacing from one binary to
// another, and the suite must be the same bytes whoever generates it.
func signBundle(ctx context.Context, l *layout, desc ocispec.Descriptor, s detSigner) {
	b := must(spec.Canonicalize(must(sign.NewBundle(ctx, s, desc.Digest))))
	bundle := l.add(spec.BundleMediaType, b)
	built := must(sign.BuildBundleManifest(bundle, desc, signedAt))
	l.add(built.ConfigDesc.MediaType, built.Config)
	l.manifest(built.Manifest, "")
}
