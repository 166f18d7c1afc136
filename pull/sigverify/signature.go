package sigverify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/runid/runid-oci/pull"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"

	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/spec"
)

// Bounds of signature verification, as cosign has them.
const (
	// DefaultMaxSignatures is how many signatures are examined at most;
	// more is a verification failure, never a partial check.
	DefaultMaxSignatures = spec.MaxSignatures
	// DefaultMaxSignatureArtifactSize caps the bytes of one signature
	// artifact (its payloads, or its bundle): 128 MiB.
	DefaultMaxSignatureArtifactSize int64 = spec.MaxSignatureArtifactSize
	// DefaultMaxSignatureLayers caps the layers of one signature manifest.
	DefaultMaxSignatureLayers = spec.MaxSignatureLayers
)

// LoadPublicKey parses a PEM public key, such as the cosign.pub that
// "cosign generate-key-pair" or sign.GenerateKeyPair writes, into a
// verifier for VerifySignatures. It checks signatures as cosign does:
// SHA-256 for ECDSA and RSA keys, Ed25519ph for Ed25519 keys. An unusable
// key gives an error wrapping ErrKey.
func LoadPublicKey(publicPEM []byte) (signature.Verifier, error) {
	return sign.LoadPublicKey(publicPEM)
}

// LoadPublicKeyFile reads and parses a PEM public key file (LoadPublicKey).
func LoadPublicKeyFile(path string) (signature.Verifier, error) {
	return sign.LoadPublicKeyFile(path)
}

// Options configure VerifySignatures. The zero value is valid.
type Options struct {
	// MaxSignatures is how many signatures are examined at most; a subject
	// with more does not verify. Default: DefaultMaxSignatures (100).
	MaxSignatures int
	// MaxArtifactSize caps the blob bytes of one signature artifact.
	// Default: DefaultMaxSignatureArtifactSize (128 MiB).
	MaxArtifactSize int64
	// MaxLayers caps the layers of one signature manifest.
	// Default: DefaultMaxSignatureLayers (1000).
	MaxLayers int
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxSignatures <= 0 {
		o.MaxSignatures = DefaultMaxSignatures
	}
	if o.MaxArtifactSize <= 0 {
		o.MaxArtifactSize = DefaultMaxSignatureArtifactSize
	}
	if o.MaxLayers <= 0 {
		o.MaxLayers = DefaultMaxSignatureLayers
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// VerifySignatures checks the cosign signatures of the manifest subject in
// src with key, offline: at least one must verify, and zero signatures is
// a failure, never a pass.
//
// subject's Digest must be the one computed from the manifest bytes (as in
// Resolved.Descriptor); every signature is checked against it. Signatures
// are looked for in both places cosign and referrer-aware tools put them:
// the tag "sha256-<hex>.sig" (the tag format) and the referrers of the
// subject (tag-format manifests with a subject, which survive "oras cp -r",
// and Sigstore bundles, "cosign sign --new-bundle-format"). Referrers are
// read through the source's referrers API, its tag-schema fallback, or an
// OCI layout's index, whichever src offers.
//
// Each signature must: be well formed; name subject in its signed payload
// (the digest claim that cosign's library checks only with a claim
// verifier, so that a signature copied onto another manifest fails); and
// verify with key. Reading is bounded by opts: more signatures than
// MaxSignatures, a signature manifest with more than MaxLayers layers or a
// signature artifact over MaxArtifactSize are reported, never read.
//
// The report lists every signature examined. When none verifies,
// VerifySignatures also returns a *pull.VerificationError (wrapping
// pull.ErrVerification) with one problem per failed signature. Any other error
// means the signatures could not be read (network, authentication).
func VerifySignatures(ctx context.Context, src oras.ReadOnlyTarget, subject ocispec.Descriptor, key signature.Verifier, opts Options) (*pull.SignatureReport, error) {
	opts = opts.withDefaults()
	if key == nil {
		return nil, fmt.Errorf("verify signatures: %w", ErrNoKey)
	}
	if err := subject.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("verify signatures: %w: subject %q: %v", pull.ErrInvalidReference, subject.Digest, err)
	}
	keyID, err := sign.VerifierKeyID(key)
	if err != nil {
		return nil, fmt.Errorf("verify signatures: %w", err)
	}
	rep := &pull.SignatureReport{Subject: subject.Digest, KeyID: keyID, Signatures: []pull.SignatureCheck{}}
	return runChecks(ctx, src, subject, keyChecker{key}, opts, rep)
}

// checker checks one signature of subject in either storage format; it
// says who signed when the signer is not a bare key.
type checker interface {
	// tag checks a tag-format signature: its payload and its layer
	// descriptor (which carries the signature and, keyless, the
	// certificate and log entry annotations).
	tag(ctx context.Context, payload []byte, layer ocispec.Descriptor, subject digest.Digest) (*pull.KeylessSigner, error)
	// bundle checks a Sigstore bundle.
	bundle(b []byte, subject digest.Digest) (*pull.KeylessSigner, error)
}

// keyChecker checks signatures with one public key.
type keyChecker struct{ key signature.Verifier }

func (k keyChecker) tag(ctx context.Context, payload []byte, l ocispec.Descriptor, subject digest.Digest) (*pull.KeylessSigner, error) {
	return nil, sign.VerifySimpleSigning(ctx, payload, l.Annotations[spec.SignatureAnnotation], k.key, subject)
}

func (k keyChecker) bundle(b []byte, subject digest.Digest) (*pull.KeylessSigner, error) {
	return nil, sign.VerifyBundle(b, k.key, subject)
}

// runChecks finds the signatures of subject in src and checks each with c,
// filling rep. At least one must verify.
func runChecks(ctx context.Context, src oras.ReadOnlyTarget, subject ocispec.Descriptor, c checker, opts Options, rep *pull.SignatureReport) (*pull.SignatureReport, error) {
	fail := func(probs ...spec.Problem) (*pull.SignatureReport, error) {
		return rep, &pull.VerificationError{Reference: subject.Digest.String(), Problems: probs}
	}
	cands, tooMany, err := findSignatureManifests(ctx, src, subject, opts)
	if err != nil {
		return nil, err
	}
	if tooMany {
		return fail(spec.Problem{Check: "signature-count", Subject: subject.Digest.String(),
			Msg: fmt.Sprintf("more than %d signature artifacts: refusing to examine them (cosign's bound)", opts.MaxSignatures)})
	}

	v := &sigVerifier{src: src, subject: subject.Digest, check: c, opts: opts, rep: rep, seen: map[string]bool{}}
	for _, c := range cands {
		if err := v.manifest(ctx, c); err != nil {
			return nil, err
		}
		if v.tooMany {
			rep.Verified = 0
			return fail(spec.Problem{Check: "signature-count", Subject: subject.Digest.String(),
				Msg: fmt.Sprintf("more than %d signatures: refusing to examine them (cosign's bound)", opts.MaxSignatures)})
		}
	}
	if rep.Verified > 0 {
		opts.Logger.Debug("signatures verified", "subject", subject.Digest, "verified", rep.Verified, "examined", len(rep.Signatures))
		return rep, nil
	}
	if len(rep.Signatures) == 0 {
		tag, _ := spec.SignatureTag(subject.Digest)
		return fail(spec.Problem{Check: "signature-count", Subject: subject.Digest.String(),
			Msg: fmt.Sprintf("no signatures found (looked at the tag %s and the referrers)", tag)})
	}
	var probs []spec.Problem
	for _, s := range rep.Signatures {
		probs = append(probs, spec.Problem{Check: "signature", Subject: s.Manifest.String(),
			Msg: fmt.Sprintf("%s-format signature does not verify: %s", s.Format, s.Reason)})
	}
	return fail(probs...)
}

// sigManifest is a candidate signature manifest.
type sigManifest struct {
	desc  ocispec.Descriptor
	found string
}

// findSignatureManifests lists the candidate signature manifests: the
// .sig tag first, then the referrers that may hold signatures.
func findSignatureManifests(ctx context.Context, src oras.ReadOnlyTarget, subject ocispec.Descriptor, opts Options) ([]sigManifest, bool, error) {
	tag, err := spec.SignatureTag(subject.Digest)
	if err != nil {
		return nil, false, err
	}
	return findCosignManifests(ctx, src, subject, tag, sign.MayHoldSignatures, opts)
}

// findCosignManifests lists the manifest tagged tag, then the referrers of
// subject whose listed artifactType may is true for, stopping past
// opts.MaxSignatures.
func findCosignManifests(ctx context.Context, src oras.ReadOnlyTarget, subject ocispec.Descriptor, tag string, may func(artifactType string) bool, opts Options) ([]sigManifest, bool, error) {
	var out []sigManifest
	index := map[digest.Digest]int{}
	add := func(d ocispec.Descriptor, found string) {
		if i, ok := index[d.Digest]; ok {
			out[i].found += "," + found
			return
		}
		index[d.Digest] = len(out)
		out = append(out, sigManifest{desc: d, found: found})
	}

	d, err := src.Resolve(ctx, tag)
	switch {
	case errors.Is(err, errdef.ErrNotFound):
	case err != nil:
		return nil, false, fmt.Errorf("verify signatures: resolve %s: %w", tag, err)
	default:
		add(d, "tag")
	}

	errTooMany := errors.New("too many")
	page := func(refs []ocispec.Descriptor) error {
		for _, r := range refs {
			if !may(r.ArtifactType) {
				continue
			}
			add(r, "referrers")
			if len(out) > opts.MaxSignatures {
				return errTooMany
			}
		}
		return nil
	}
	if rl, ok := src.(registry.ReferrerLister); ok {
		// A remote repository: its referrers API or tag-schema fallback,
		// page by page, stopping past the bound.
		err = rl.Referrers(ctx, plainDesc(subject), "", page)
	} else if gs, ok := src.(content.ReadOnlyGraphStorage); ok {
		// An OCI layout: its index.
		var refs []ocispec.Descriptor
		if refs, err = registry.Referrers(ctx, gs, plainDesc(subject), ""); err == nil {
			err = page(refs)
		}
	} else {
		opts.Logger.Debug("the source cannot list referrers; only the signature tag is read")
	}
	switch {
	case errors.Is(err, errTooMany):
		return nil, true, nil
	case errors.Is(err, errdef.ErrNotFound):
	case err != nil:
		return nil, false, fmt.Errorf("verify signatures: list referrers: %w", err)
	}
	return out, false, nil
}

// sigVerifier examines signature manifests one by one.
type sigVerifier struct {
	src     oras.ReadOnlyTarget
	subject digest.Digest
	check   checker
	opts    Options
	rep     *pull.SignatureReport
	seen    map[string]bool // signatures already examined
	count   int
	tooMany bool
}

func (v *sigVerifier) record(c pull.SignatureCheck, err error) {
	v.recordSigner(c, nil, err)
}

func (v *sigVerifier) recordSigner(c pull.SignatureCheck, signer *pull.KeylessSigner, err error) {
	c.Signer = signer
	if err == nil {
		c.Verified = true
		v.rep.Verified++
	} else {
		c.Reason = err.Error()
	}
	v.rep.Signatures = append(v.rep.Signatures, c)
}

// manifest examines one candidate signature manifest. It returns an error
// only when the source cannot be read.
func (v *sigVerifier) manifest(ctx context.Context, c sigManifest) error {
	check := pull.SignatureCheck{Manifest: c.desc.Digest, Found: c.found}
	data, err := v.fetch(ctx, c.desc, spec.MaxSignatureManifestSize)
	if err != nil {
		if isReadFailure(err) {
			return err
		}
		check.Format = "unknown"
		v.record(check, fmt.Errorf("signature manifest: %w", err))
		return nil
	}
	m, err := sign.ParseManifest(data)
	if err == nil && len(m.Layers) > v.opts.MaxLayers {
		err = fmt.Errorf("%w: %d layers, at most %d", sign.ErrTooLarge, len(m.Layers), v.opts.MaxLayers)
	}
	if err != nil {
		check.Format = "unknown"
		v.record(check, err)
		return nil
	}
	kind := sign.KindOf(m)
	if kind == sign.KindNone {
		return nil // another kind of referrer
	}
	var total int64
	for _, l := range m.Layers {
		if l.Size < 0 {
			total = v.opts.MaxArtifactSize + 1
			break
		}
		total += l.Size
	}
	switch kind {
	case sign.KindTag:
		check.Format = pull.SignatureFormatTag
		if total > v.opts.MaxArtifactSize {
			v.record(check, fmt.Errorf("%w: its payloads claim %d bytes, more than %d", sign.ErrTooLarge, total, v.opts.MaxArtifactSize))
			return nil
		}
		for _, l := range m.Layers {
			if l.MediaType != spec.SimpleSigningMediaType {
				continue
			}
			// The same payload with another signature, or other proofs
			// (a keyless one's certificate and log entry), is another
			// signature.
			key := "tag " + l.Digest.String() + " " + l.Annotations[spec.SignatureAnnotation] + " " +
				l.Annotations[spec.CertificateAnnotation] + " " + l.Annotations[spec.RekorBundleAnnotation]
			if v.seen[key] {
				continue
			}
			v.seen[key] = true
			if v.count++; v.count > v.opts.MaxSignatures {
				v.tooMany = true
				return nil
			}
			lc := check
			lc.Blob = l.Digest
			payload, err := v.fetch(ctx, l, v.opts.MaxArtifactSize)
			if err != nil {
				if isReadFailure(err) {
					return err
				}
				v.record(lc, fmt.Errorf("payload: %w", err))
				continue
			}
			signer, err := v.check.tag(ctx, payload, l, v.subject)
			v.recordSigner(lc, signer, err)
		}
	case sign.KindBundle:
		check.Format = pull.SignatureFormatBundle
		var layer *ocispec.Descriptor
		for i, l := range m.Layers {
			if spec.IsBundleMediaType(l.MediaType) {
				layer = &m.Layers[i]
				break
			}
		}
		if layer == nil || len(m.Layers) != 1 {
			v.record(check, fmt.Errorf("%w: want exactly one layer of a Sigstore bundle type (such as %s)", sign.ErrMalformedBundle, spec.BundleMediaType))
			return nil
		}
		check.Blob = layer.Digest
		key := "bundle " + layer.Digest.String()
		if v.seen[key] {
			return nil
		}
		v.seen[key] = true
		if v.count++; v.count > v.opts.MaxSignatures {
			v.tooMany = true
			return nil
		}
		if total > v.opts.MaxArtifactSize {
			v.record(check, fmt.Errorf("%w: the bundle claims %d bytes, more than %d", sign.ErrTooLarge, total, v.opts.MaxArtifactSize))
			return nil
		}
		b, err := v.fetch(ctx, *layer, v.opts.MaxArtifactSize)
		if err != nil {
			if isReadFailure(err) {
				return err
			}
			v.record(check, fmt.Errorf("bundle: %w", err))
			return nil
		}
		signer, err := v.check.bundle(b, v.subject)
		v.recordSigner(check, signer, err)
	}
	return nil
}

// readFailure marks an error reading the source (network,
// authentication), as opposed to a missing or bad signature blob.
type readFailure struct{ err error }

func (e readFailure) Error() string { return e.err.Error() }
func (e readFailure) Unwrap() error { return e.err }

func isReadFailure(err error) bool {
	var rf readFailure
	return errors.As(err, &rf)
}

// fetch reads the blob or manifest desc, at most limit bytes, and checks
// its size and digest. A missing blob, a size over limit or bytes that do
// not match are returned as plain errors (the signature is bad); failures
// to read the source as readFailure.
func (v *sigVerifier) fetch(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size > limit || desc.Size < 0 {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", sign.ErrTooLarge, desc.Size, limit)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("invalid digest %q: %v", desc.Digest, err)
	}
	rc, err := v.src.Fetch(ctx, plainDesc(desc))
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return nil, fmt.Errorf("%s is missing: %w", desc.Digest, pull.ErrNotFound)
		}
		return nil, readFailure{fmt.Errorf("verify signatures: fetch %s: %w", desc.Digest, err)}
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, desc.Size+1))
	if err != nil {
		return nil, readFailure{fmt.Errorf("verify signatures: read %s: %w", desc.Digest, err)}
	}
	if int64(len(data)) != desc.Size {
		return nil, fmt.Errorf("%s: the source served %d bytes or more, the descriptor says %d", desc.Digest, len(data), desc.Size)
	}
	if got := digest.FromBytes(data); got != desc.Digest {
		return nil, fmt.Errorf("%s: the source served bytes that hash to %s", desc.Digest, got)
	}
	return data, nil
}

// plainDesc keeps what identifies a blob or manifest: media type, digest
// and size.
func plainDesc(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// Verifier checks signatures with one public key; it implements
// pull.SignatureVerifier, for VerifyOptions.Signatures.
type Verifier struct {
	// Key is the public key (LoadPublicKey, LoadPublicKeyFile).
	Key signature.Verifier
	// Options bound the checks.
	Options Options
}

// VerifySignatures runs VerifySignatures with v's key and options.
func (v Verifier) VerifySignatures(ctx context.Context, src oras.ReadOnlyTarget, subject ocispec.Descriptor) (*pull.SignatureReport, error) {
	return VerifySignatures(ctx, src, subject, v.Key, v.Options)
}
