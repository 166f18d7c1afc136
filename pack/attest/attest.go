package attest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/spec"
)

// Options configure Attest. The zero value is valid but for Repository.
type Options struct {
	// Statement configures the statement: the predicate kind, the SLSA
	// builder.
	Statement StatementOptions
	// Repository is where the identity can be fetched, recorded in the
	// predicate (spec/SPEC.md §8.2 rules: a repository without tag or
	// digest, or an OCI layout path). Required.
	Repository string
	// IdentityStore is where the identity and the record are read.
	// Default: the target.
	IdentityStore oras.ReadOnlyTarget
	// Record names an output record of the identity in RecordStore (a
	// tag or a digest). Default: none.
	Record string
	// RecordStore is where Record is read. Default: IdentityStore.
	RecordStore oras.ReadOnlyTarget
	// MaxMetadataSize caps every manifest and document read.
	// Default: spec.DefaultMaxMetadataSize.
	MaxMetadataSize int64
	// Sign configures the signature and its storage: Format
	// (sign.SignatureFormatTag, the default, or sign.SignatureFormatBundle
	// for --new-bundle-format), Created, Index, Logger.
	Sign sign.SignOptions
}

// Result reports an attestation.
type Result struct {
	sign.AttestationResult
	// Identity is the identity the predicate names.
	Identity spec.LinkedIdentity `json:"identity"`
	// OutputRecord is the record it names, if any.
	OutputRecord digest.Digest `json:"outputRecord,omitempty"`
	// Statement is the signed statement's bytes.
	Statement []byte `json:"-"`
}

// Attest makes a run attestation of the artifact that artifactRef (a tag or
// a digest) names in target: it reads the artifact and hashes it; reads the
// identity that identityRef names in opts.IdentityStore and checks that it
// is a well-formed identity whose blobs exist (referrer.ReadIdentity), and the
// output record opts.Record if given, which must name that identity; builds
// the statement (Statement); signs it with signer and stores it in target
// as cosign does (sign.SignStatement).
//
// A missing artifact, identity or record wraps referrer.ErrNotFound; an
// identity that is not one referrer.ErrNotIdentity; a record that is not one
// spec.ErrInvalidOutput.
func Attest(ctx context.Context, target oras.Target, artifactRef, identityRef string, signer signature.SignerVerifier, opts Options) (*Result, error) {
	return attest(ctx, target, artifactRef, identityRef, opts, func(subject ocispec.Descriptor, stmt []byte) (sign.AttestationResult, error) {
		return sign.SignStatement(ctx, target, subject, stmt, signer, opts.Sign)
	})
}

// AttestKeyless is Attest signing keylessly, against the Fulcio and Rekor
// that keyless names (sign.SignStatementKeyless); keyless.Sign is replaced
// by opts.Sign. The result's Signer names the certificate identity and
// issuer.
func AttestKeyless(ctx context.Context, target oras.Target, artifactRef, identityRef string, keyless sign.KeylessOptions, opts Options) (*Result, error) {
	keyless.Sign = opts.Sign
	return attest(ctx, target, artifactRef, identityRef, opts, func(subject ocispec.Descriptor, stmt []byte) (sign.AttestationResult, error) {
		return sign.SignStatementKeyless(ctx, target, subject, stmt, keyless)
	})
}

func attest(ctx context.Context, target oras.Target, artifactRef, identityRef string, opts Options,
	signStatement func(subject ocispec.Descriptor, stmt []byte) (sign.AttestationResult, error)) (*Result, error) {
	if _, err := PredicateType(opts.Statement.Predicate); err != nil {
		return nil, err
	}
	if err := spec.ValidateLinkedIdentity(spec.LinkedIdentity{Digest: digest.FromString(""), Repository: opts.Repository}); err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	subject, err := sign.ResolveSubject(ctx, target, artifactRef)
	if err != nil {
		return nil, err
	}
	src := opts.IdentityStore
	if src == nil {
		src = target
	}
	id, err := referrer.ReadIdentity(ctx, src, identityRef, opts.MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("attest: identity %s: %w", identityRef, err)
	}
	var rec *spec.OutputRecord
	if opts.Record != "" {
		rs := opts.RecordStore
		if rs == nil {
			rs = src
		}
		if rec, err = ReadOutputRecord(ctx, rs, opts.Record, opts.MaxMetadataSize); err != nil {
			return nil, fmt.Errorf("attest: output record %s: %w", opts.Record, err)
		}
	}
	stmt, err := Statement(subject, id, opts.Repository, rec, opts.Statement)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	ar, err := signStatement(subject, stmt)
	if err != nil {
		return nil, err
	}
	res := &Result{AttestationResult: ar, Identity: spec.LinkedIdentity{Digest: id.Digest(), Repository: opts.Repository}, Statement: stmt}
	if rec != nil {
		res.OutputRecord = rec.Digest()
	}
	return res, nil
}

// ReadOutputRecord reads the output record that ref (a tag or a digest)
// names in store, its manifest and its document each at most maxSize bytes
// (spec.DefaultMaxMetadataSize when <= 0), and checks them
// (spec.ParseOutputRecord). It does not fetch the record's files.
func ReadOutputRecord(ctx context.Context, store oras.ReadOnlyTarget, ref string, maxSize int64) (*spec.OutputRecord, error) {
	if maxSize <= 0 {
		maxSize = spec.DefaultMaxMetadataSize
	}
	_, mbytes, err := oras.FetchBytes(ctx, store, ref, oras.FetchBytesOptions{MaxBytes: maxSize})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return nil, fmt.Errorf("%w: %s", referrer.ErrNotFound, ref)
	case err != nil:
		return nil, fmt.Errorf("fetch %s: %w", ref, err)
	}
	if want, perr := digest.Parse(ref); perr == nil && want != digest.FromBytes(mbytes) {
		return nil, fmt.Errorf("fetch %s: the store served bytes that hash to %s", ref, digest.FromBytes(mbytes))
	}
	var head ocispec.Manifest
	if err := json.Unmarshal(mbytes, &head); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", spec.ErrInvalidOutput, err)
	}
	if head.Config.Size > maxSize || head.Config.Size < 0 || head.Config.Digest.Validate() != nil {
		return nil, fmt.Errorf("%w: config of %d bytes (cap %d), digest %q", spec.ErrInvalidOutput, head.Config.Size, maxSize, head.Config.Digest)
	}
	doc, err := content.FetchAll(ctx, store, ocispec.Descriptor{MediaType: head.Config.MediaType, Digest: head.Config.Digest, Size: head.Config.Size})
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return nil, fmt.Errorf("%w: output document %s is missing", spec.ErrInvalidOutput, head.Config.Digest)
	case err != nil:
		return nil, fmt.Errorf("read output document: %w", err)
	}
	return spec.ParseOutputRecord(mbytes, doc)
}
