package sign

import (
	"bytes"
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/spec"
)

// AttestationResult reports an attestation stored by SignStatement.
type AttestationResult struct {
	// Subject is the manifest the statement is about.
	Subject ocispec.Descriptor `json:"subject"`
	// Format is how the attestation is stored.
	Format SignatureFormat `json:"format"`
	// PredicateType is the statement's predicate type.
	PredicateType string `json:"predicateType"`
	// Attestation is the manifest that now holds it: the
	// "sha256-<hex>.att" manifest (tag format) or the bundle referrer.
	Attestation ocispec.Descriptor `json:"attestation"`
	// Tag is the attestation tag ("sha256-<hex>.att") of the tag format.
	Tag string `json:"tag,omitempty"`
	// Attestations is how many attestations the tag-format manifest now
	// holds (1 for the bundle format).
	Attestations int `json:"attestations"`
	// KeyID names the signing key, as in SignResult; empty when signed
	// keylessly.
	KeyID string `json:"keyID,omitempty"`
	// Signer names the certificate identity and issuer of a keyless
	// attestation: "identity (issuer)".
	Signer string `json:"signer,omitempty"`
	// AlreadyAttested is true when the tag-format manifest already held
	// this statement signed by this key: nothing was added.
	AlreadyAttested bool `json:"alreadyAttested,omitempty"`
}

// ResolveSubject reads the manifest or index that ref (a tag or a digest)
// names in target, at most MaxSignedManifestSize bytes, and describes it by
// the digest of its bytes, as Sign does before signing.
func ResolveSubject(ctx context.Context, target oras.ReadOnlyTarget, ref string) (ocispec.Descriptor, error) {
	return resolveSubject(ctx, target, ref)
}

// SignStatement signs an in-toto statement about subject with signer as a
// DSSE envelope and stores it in target the way cosign stores attestations
// (spec/SPEC.md §14.4):
//
//   - SignatureFormatTag (default), as "cosign attest": a layer of media
//     type application/vnd.dsse.envelope.v1+json, annotated with the
//     predicate type, appended to the manifest tagged "sha256-<hex>.att"
//     (which also gets subject, so referrer-aware tools carry it);
//   - SignatureFormatBundle, as "cosign attest --new-bundle-format": a
//     Sigstore bundle holding the envelope, in a referrer of subject.
//
// subject's digest must be computed from its bytes (ResolveSubject) and
// statement must name it among its subjects. opts are those of Sign
// (DockerReference is not used).
func SignStatement(ctx context.Context, target oras.Target, subject ocispec.Descriptor, statement []byte, signer signature.SignerVerifier, opts SignOptions) (AttestationResult, error) {
	opts = opts.withDefaults(target)
	if err := CheckInTotoStatement(statement, subject.Digest); err != nil {
		return AttestationResult{}, fmt.Errorf("attest: %w: %w", ErrSignSubject, err)
	}
	keyID, err := VerifierKeyID(signer)
	if err != nil {
		return AttestationResult{}, fmt.Errorf("attest: %w", err)
	}
	subject = ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	res := AttestationResult{Subject: subject, Format: opts.Format, KeyID: keyID,
		PredicateType: StatementPredicateType(statement)}
	err = storeStatement(ctx, target, statement, opts, &res,
		func(layers []ocispec.Descriptor) (ocispec.Descriptor, []byte, bool, error) {
			for _, l := range layers {
				if l.MediaType == DSSEMediaType && alreadyAttestedBy(ctx, target, l, signer, subject.Digest, statement) {
					return ocispec.Descriptor{}, nil, true, nil
				}
			}
			env, err := SignDSSE(ctx, signer, statement)
			if err != nil {
				return ocispec.Descriptor{}, nil, false, fmt.Errorf("attest: %w", err)
			}
			return AttestationLayer(env, res.PredicateType), env, false, nil
		},
		func() ([]byte, error) {
			b, err := NewStatementBundle(ctx, signer, statement)
			if err != nil {
				return nil, fmt.Errorf("attest: %w", err)
			}
			return b, nil
		})
	if err != nil {
		return res, err
	}
	opts.Logger.Debug("attested", "subject", subject.Digest, "format", res.Format, "predicateType", res.PredicateType, "attestation", res.Attestation.Digest, "key", keyID)
	return res, nil
}

// storeStatement stores an attestation about res.Subject in target in
// opts.Format: tagLayer makes the layer to append to the .att manifest
// (or reports that an equal one is there), bundle makes the Sigstore bundle
// of the referrer.
func storeStatement(ctx context.Context, target oras.Target, statement []byte, opts SignOptions, res *AttestationResult,
	tagLayer func(existing []ocispec.Descriptor) (ocispec.Descriptor, []byte, bool, error), bundle func() ([]byte, error)) error {
	subject := res.Subject
	switch opts.Format {
	case SignatureFormatTag:
		tag, err := AttestationTag(subject.Digest)
		if err != nil {
			return err
		}
		res.Tag = tag
		f := tagFormat{tag: tag, kind: KindAttestationTag, what: "cosign attestations", build: BuildAttestationTagManifest}
		res.Attestation, res.Attestations, res.AlreadyAttested, err = appendTagLayer(ctx, target, subject, f, opts, tagLayer)
		return err
	case SignatureFormatBundle:
		b, err := bundle()
		if err != nil {
			return err
		}
		layer := ocispec.Descriptor{MediaType: spec.BundleMediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := pushSigBlob(ctx, target, layer, b); err != nil {
			return err
		}
		built, err := BuildAttestationBundleManifest(layer, subject, opts.Created, res.PredicateType)
		if err != nil {
			return fmt.Errorf("attest: %w", err)
		}
		if err := pushSigBlob(ctx, target, built.ConfigDesc, built.Config); err != nil {
			return err
		}
		if err := pushSigManifest(ctx, target, built, subject, "", opts); err != nil {
			return err
		}
		res.Attestation, res.Attestations = built.Descriptor, 1
		return nil
	default:
		return fmt.Errorf("attest: %w: %q (want %q or %q)", ErrSignatureFormat, opts.Format, SignatureFormatTag, SignatureFormatBundle)
	}
}

// alreadyAttestedBy reports whether layer is a DSSE envelope over statement
// that verifies with v: attesting again would only duplicate it.
func alreadyAttestedBy(ctx context.Context, target oras.ReadOnlyTarget, layer ocispec.Descriptor, v signature.Verifier, subject digest.Digest, statement []byte) bool {
	if layer.Size > spec.MaxSignatureArtifactSize {
		return false
	}
	env, err := content.FetchAll(ctx, target, layer)
	if err != nil {
		return false
	}
	payload, err := VerifyDSSE(env, v, subject)
	return err == nil && bytes.Equal(payload, statement)
}
