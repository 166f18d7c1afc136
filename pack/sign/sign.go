package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/runid/runid-oci/spec"
)

// SignatureFormat says how a signature is stored.
type SignatureFormat string

// Signature formats.
const (
	// SignatureFormatTag is cosign's tag format, the default: a manifest
	// tagged "sha256-<hex>.sig" holding simple-signing payloads, with the
	// signed manifest as its subject so referrer-aware tools carry it.
	SignatureFormatTag SignatureFormat = "tag"
	// SignatureFormatBundle is the OCI 1.1 referrers format with a Sigstore
	// bundle, as "cosign sign --new-bundle-format" writes it.
	SignatureFormatBundle SignatureFormat = "bundle"
)

// DefaultDockerReference is the identity.docker-reference that a
// tag-format payload claims when the target is not a remote repository
// (an OCI layout has no repository name) and SignOptions.DockerReference is
// empty. Verification does not depend on it.
const DefaultDockerReference = "localhost/oci-layout"

// MaxSignedManifestSize caps the manifest that Sign reads to hash: 4 MiB.
const MaxSignedManifestSize = 4 << 20

// SignOptions configure Sign. The zero value is valid.
type SignOptions struct {
	// Format is how the signature is stored. Default: SignatureFormatTag.
	Format SignatureFormat
	// DockerReference is the repository that a tag-format payload claims
	// (critical.identity.docker-reference). Default: the repository of a
	// *remote.Repository target, as cosign writes it, else
	// DefaultDockerReference.
	DockerReference string
	// Created is the creation time recorded on a bundle-format signature
	// manifest, as cosign records it. Default: now.
	Created time.Time
	// Index configures the check that the signed manifest's referrers list
	// the signature manifest (see referrer.IndexOptions): on a registry without the
	// referrers API, a concurrent writer can lose it from the tag-schema
	// index, and it is then pushed again.
	Index referrer.IndexOptions
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

// SignResult reports a signature.
type SignResult struct {
	// Subject is the signed manifest; its digest was computed from the
	// manifest bytes.
	Subject ocispec.Descriptor `json:"subject"`
	// Format is how the signature is stored.
	Format SignatureFormat `json:"format"`
	// Signature is the signature manifest now in the target.
	Signature ocispec.Descriptor `json:"signature"`
	// Tag is the signature tag ("sha256-<hex>.sig") of the tag format.
	Tag string `json:"tag,omitempty"`
	// Signatures is how many signatures the tag-format manifest now holds
	// (1 for the bundle format).
	Signatures int `json:"signatures"`
	// KeyID names the signing key: "sha256:" and the hex SHA-256 of its
	// public key's DER encoding.
	KeyID string `json:"keyID,omitempty"`
	// Signer names the certificate identity and issuer of a keyless
	// signature: "identity (issuer)".
	Signer string `json:"signer,omitempty"`
	// AlreadySigned is true when the tag-format manifest already held a
	// valid signature by this key over the same payload: none was added.
	AlreadySigned bool `json:"alreadySigned,omitempty"`
}

// withDefaults fills the defaults of the zero fields; the docker
// reference defaults to target's repository when target is one.
func (o SignOptions) withDefaults(target oras.ReadOnlyTarget) SignOptions {
	if o.Format == "" {
		o.Format = SignatureFormatTag
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Created.IsZero() {
		o.Created = time.Now()
	}
	if o.DockerReference == "" {
		o.DockerReference = DefaultDockerReference
		if r, ok := target.(*remote.Repository); ok {
			o.DockerReference = r.Reference.Registry + "/" + r.Reference.Repository
		}
	}
	return o
}

// Sign signs the manifest that ref (a tag or a digest) names in target,
// an identity or an output record or any other manifest, with signer, and
// stores the signature in target in opts.Format.
//
// The manifest is read (at most MaxSignedManifestSize bytes) and hashed
// here; what is signed is that digest, never one a registry claims. In the
// tag format the signature is appended to an existing "sha256-<hex>.sig"
// manifest (several signers), as cosign does; signing twice with the same
// key adds nothing. The superseded signature manifest is deleted when the
// target can delete, so that referrer listings do not keep stale copies.
// Two signers appending at the same moment may lose one signature, as
// with cosign.
func Sign(ctx context.Context, target oras.Target, ref string, signer signature.SignerVerifier, opts SignOptions) (SignResult, error) {
	opts = opts.withDefaults(target)
	subject, err := resolveSubject(ctx, target, ref)
	if err != nil {
		return SignResult{}, err
	}
	keyID, err := VerifierKeyID(signer)
	if err != nil {
		return SignResult{}, fmt.Errorf("sign: %w", err)
	}
	res := SignResult{Subject: subject, Format: opts.Format, KeyID: keyID}
	switch opts.Format {
	case SignatureFormatTag:
		err = signTag(ctx, target, signer, nil, opts, &res)
	case SignatureFormatBundle:
		var b []byte
		if b, err = NewBundle(ctx, signer, res.Subject.Digest); err != nil {
			return SignResult{}, fmt.Errorf("sign: %w", err)
		}
		err = pushBundle(ctx, target, b, opts, &res)
	default:
		return SignResult{}, fmt.Errorf("sign: %w: %q (want %q or %q)", ErrSignatureFormat, opts.Format, SignatureFormatTag, SignatureFormatBundle)
	}
	if err != nil {
		return SignResult{}, err
	}
	opts.Logger.Debug("signed", "subject", subject.Digest, "format", res.Format, "signature", res.Signature.Digest, "key", keyID)
	return res, nil
}

// resolveSubject fetches the manifest ref names and describes it by the
// digest of its bytes.
func resolveSubject(ctx context.Context, target oras.ReadOnlyTarget, ref string) (ocispec.Descriptor, error) {
	data, claimed, err := fetchSignedManifest(ctx, target, ref, MaxSignedManifestSize)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("sign %q: %w: %w", ref, ErrSignSubject, err)
	}
	got := digest.FromBytes(data)
	if strings.Contains(ref, ":") && digest.Digest(ref) != got {
		return ocispec.Descriptor{}, fmt.Errorf("sign %q: %w: the target served bytes that hash to %s", ref, ErrSignSubject, got)
	}
	if claimed.Digest != "" && claimed.Digest != got {
		return ocispec.Descriptor{}, fmt.Errorf("sign %q: %w: the target says %s but the bytes hash to %s", ref, ErrSignSubject, claimed.Digest, got)
	}
	m, err := ParseManifest(data)
	if err != nil || (m.MediaType != ocispec.MediaTypeImageManifest && m.MediaType != ocispec.MediaTypeImageIndex) {
		return ocispec.Descriptor{}, fmt.Errorf("sign %q: %w: not an OCI image manifest or index", ref, ErrSignSubject)
	}
	return ocispec.Descriptor{MediaType: m.MediaType, ArtifactType: m.ArtifactType, Digest: got, Size: int64(len(data))}, nil
}

// fetchSignedManifest reads the manifest that ref names, at most limit bytes.
func fetchSignedManifest(ctx context.Context, src oras.ReadOnlyTarget, ref string, limit int64) ([]byte, ocispec.Descriptor, error) {
	var desc ocispec.Descriptor
	var rc io.ReadCloser
	var err error
	if rf, ok := src.(registry.ReferenceFetcher); ok {
		desc, rc, err = rf.FetchReference(ctx, ref)
	} else if desc, err = src.Resolve(ctx, ref); err == nil {
		if desc.Size > limit {
			return nil, desc, fmt.Errorf("manifest of %d bytes, over %d", desc.Size, limit)
		}
		rc, err = src.Fetch(ctx, desc)
	}
	if err != nil {
		return nil, desc, err
	}
	defer rc.Close()
	if desc.Size > limit {
		return nil, desc, fmt.Errorf("manifest of %d bytes, over %d", desc.Size, limit)
	}
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, desc, err
	}
	if int64(len(data)) > limit {
		return nil, desc, fmt.Errorf("manifest over %d bytes", limit)
	}
	return data, desc, nil
}

// signTag appends a signature of res.Subject to its tag-format signature
// manifest: made with signer, or, when signer is nil, by keyless (which
// returns the layer for the payload, annotations included).
func signTag(ctx context.Context, target oras.Target, signer signature.SignerVerifier, keyless func(payload []byte) (ocispec.Descriptor, error), opts SignOptions, res *SignResult) error {
	d := res.Subject.Digest
	tag, err := spec.SignatureTag(d)
	if err != nil {
		return err
	}
	res.Tag = tag
	payload, err := SimpleSigningPayload(d, opts.DockerReference)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	payloadDigest := digest.FromBytes(payload)
	f := tagFormat{tag: tag, kind: KindTag, what: "cosign signatures", build: BuildTagManifest}
	res.Signature, res.Signatures, res.AlreadySigned, err = appendTagLayer(ctx, target, res.Subject, f, opts,
		func(layers []ocispec.Descriptor) (ocispec.Descriptor, []byte, bool, error) {
			if signer == nil {
				layer, err := keyless(payload)
				return layer, payload, false, err
			}
			for _, l := range layers {
				if l.MediaType == spec.SimpleSigningMediaType && l.Digest == payloadDigest &&
					alreadySignedBy(ctx, target, l, signer) {
					return ocispec.Descriptor{}, nil, true, nil
				}
			}
			sig, err := signer.SignMessage(bytes.NewReader(payload), sigopts.WithContext(ctx))
			if err != nil {
				return ocispec.Descriptor{}, nil, false, fmt.Errorf("sign: %w", err)
			}
			return SignatureLayer(payload, base64.StdEncoding.EncodeToString(sig)), payload, false, nil
		})
	return err
}

// tagFormat is a cosign tag-format manifest: signatures ("sha256-<hex>.sig")
// or attestations ("sha256-<hex>.att").
type tagFormat struct {
	tag   string
	kind  Kind
	what  string
	build func(layers []ocispec.Descriptor, subject *ocispec.Descriptor) (Built, error)
}

// appendTagLayer adds one layer to the manifest that f.tag holds, as cosign
// does: newLayer gets the existing layers and returns the new layer and its
// blob, or already when an existing layer makes it redundant. The manifest
// is rebuilt with subject (so referrer-aware tools carry it), pushed as a
// referrer of subject and tagged; the superseded manifest is deleted when
// the target can delete. It returns the manifest now tagged, its number of
// layers, and already.
func appendTagLayer(ctx context.Context, target oras.Target, subject ocispec.Descriptor, f tagFormat, opts SignOptions,
	newLayer func(existing []ocispec.Descriptor) (ocispec.Descriptor, []byte, bool, error)) (ocispec.Descriptor, int, bool, error) {
	var layers []ocispec.Descriptor
	var old ocispec.Descriptor
	oldHasSubject := false
	data, oldDesc, err := fetchSignedManifest(ctx, target, f.tag, spec.MaxSignatureManifestSize)
	switch {
	case errors.Is(err, errdef.ErrNotFound):
	case err != nil:
		return ocispec.Descriptor{}, 0, false, fmt.Errorf("sign: read %s: %w", f.tag, err)
	default:
		m, err := ParseManifest(data)
		if err != nil {
			return ocispec.Descriptor{}, 0, false, fmt.Errorf("sign: existing %s: %w", f.tag, err)
		}
		if KindOf(m) != f.kind {
			return ocispec.Descriptor{}, 0, false, fmt.Errorf("sign: %w: tag %s holds something other than %s", ErrSignatureFormat, f.tag, f.what)
		}
		old = ocispec.Descriptor{MediaType: oldDesc.MediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
		oldHasSubject = m.Subject != nil && m.Subject.Digest == subject.Digest
		layers = m.Layers
	}

	layer, blob, already, err := newLayer(layers)
	if err != nil {
		return ocispec.Descriptor{}, 0, false, err
	}
	if already && oldHasSubject {
		return old, len(layers), true, nil
	}
	if !already {
		if err := pushSigBlob(ctx, target, layer, blob); err != nil {
			return ocispec.Descriptor{}, 0, false, err
		}
		layers = append(layers, layer)
	}
	s := subject
	built, err := f.build(layers, &s)
	if err != nil {
		return ocispec.Descriptor{}, 0, false, fmt.Errorf("sign: %w", err)
	}
	if err := pushSigBlob(ctx, target, built.ConfigDesc, built.Config); err != nil {
		return ocispec.Descriptor{}, 0, false, err
	}
	if err := pushSigManifest(ctx, target, built, subject, f.tag, opts); err != nil {
		return ocispec.Descriptor{}, 0, false, err
	}
	if old.Digest != "" && old.Digest != built.Descriptor.Digest && oldHasSubject {
		if del, ok := target.(content.Deleter); ok {
			if err := del.Delete(ctx, old); err != nil {
				opts.Logger.Debug("could not delete the superseded manifest", "tag", f.tag, "digest", old.Digest, "error", err)
			}
		}
	}
	return built.Descriptor, len(layers), already, nil
}

// alreadySignedBy reports whether layer's signature verifies with v over
// its payload: signing again would only duplicate it.
func alreadySignedBy(ctx context.Context, target oras.ReadOnlyTarget, layer ocispec.Descriptor, v signature.Verifier) bool {
	if layer.Size > spec.MaxSignatureArtifactSize {
		return false
	}
	payload, err := content.FetchAll(ctx, target, layer)
	if err != nil {
		return false
	}
	sig, err := DecodeSignature(layer.Annotations[spec.SignatureAnnotation])
	if err != nil {
		return false
	}
	return v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload)) == nil
}

// pushBundle stores the bundle b as a bundle-format signature of
// res.Subject.
func pushBundle(ctx context.Context, target oras.Target, b []byte, opts SignOptions, res *SignResult) error {
	layer := ocispec.Descriptor{MediaType: spec.BundleMediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := pushSigBlob(ctx, target, layer, b); err != nil {
		return err
	}
	built, err := BuildBundleManifest(layer, res.Subject, opts.Created)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if err := pushSigBlob(ctx, target, built.ConfigDesc, built.Config); err != nil {
		return err
	}
	if err := pushSigManifest(ctx, target, built, res.Subject, "", opts); err != nil {
		return err
	}
	res.Signature, res.Signatures = built.Descriptor, 1
	return nil
}

func pushSigBlob(ctx context.Context, target oras.Target, desc ocispec.Descriptor, data []byte) error {
	if _, err := pack.PushBlobs(ctx, target, []pack.Blob{pack.BytesBlob("", desc, data)}, pack.PushBlobsOptions{}); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return nil
}

// pushSigManifest pushes a signature manifest, makes sure that subject's
// referrers list it (referrer.PushManifest), and, when tag is set, tags it.
func pushSigManifest(ctx context.Context, target oras.Target, b Built, subject ocispec.Descriptor, tag string, opts SignOptions) error {
	desc := ocispec.Descriptor{MediaType: b.Descriptor.MediaType, Digest: b.Descriptor.Digest, Size: b.Descriptor.Size}
	subject = ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	if _, err := referrer.PushManifest(ctx, target, subject, desc, b.Manifest, opts.Index, opts.Logger); err != nil {
		return fmt.Errorf("sign: signature manifest: %w", err)
	}
	if tag != "" {
		if err := target.Tag(ctx, desc, tag); err != nil {
			return fmt.Errorf("sign: %w: tag %s: %w", pack.ErrPush, tag, err)
		}
	}
	return nil
}

// Hook returns a function that signs with signer and opts, for callers
// that take signing as a hook (the recording proxy's Options.Sign): it
// reports whether a signature was written.
func Hook(signer signature.SignerVerifier, opts SignOptions) func(ctx context.Context, target oras.Target, ref string) (bool, error) {
	return func(ctx context.Context, target oras.Target, ref string) (bool, error) {
		res, err := Sign(ctx, target, ref, signer, opts)
		return err == nil && !res.AlreadySigned, err
	}
}
