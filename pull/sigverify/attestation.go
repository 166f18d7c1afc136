package sigverify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// AttestationOptions configure VerifyAttestations. The zero value is valid.
type AttestationOptions struct {
	// PredicateType, if set, examines only attestations of this predicate
	// type. Default: the run predicate and SLSA provenance.
	PredicateType string
	// IdentityStore is where the identities (and records) that the
	// attestations name are read. Default: the source of the artifact.
	IdentityStore oras.ReadOnlyTarget
	// Verify configures the verification of the identity (and record)
	// named: its bounds, and Key and IdentityKey to require their
	// signatures too.
	Verify pull.VerifyOptions
	// Signature bounds how many attestations are examined (MaxSignatures)
	// and how large they may be.
	Signature Options
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

// AttestationCheck is one attestation examined.
type AttestationCheck struct {
	// Format is pull.SignatureFormatTag (a DSSE layer of the .att manifest) or
	// pull.SignatureFormatBundle.
	Format string `json:"format"`
	// Manifest is the digest of the manifest that holds it.
	Manifest digest.Digest `json:"manifest"`
	// Blob is the digest of the envelope or the bundle.
	Blob digest.Digest `json:"blob,omitempty"`
	// Found says where the manifest was found: "tag" (cosign's
	// sha256-<hex>.att tag), "referrers", or "tag,referrers".
	Found string `json:"found"`
	// PredicateType is the statement's predicate type, when it was read.
	PredicateType string `json:"predicateType,omitempty"`
	// Identity is the identity the predicate names, when it was read.
	Identity *spec.LinkedIdentity `json:"identity,omitempty"`
	// OutputRecord is the record it names, if any.
	OutputRecord digest.Digest `json:"outputRecord,omitempty"`
	// Signer is who signed a keyless attestation, as its certificate says,
	// and when the log or a timestamp authority proves it was signed.
	Signer *pull.KeylessSigner `json:"signer,omitempty"`
	// Verified is true when the signature verifies (with the key, or
	// keylessly), the statement names the artifact, and the identity (and
	// record) it names verify.
	Verified bool `json:"verified"`
	// Reason says why it does not verify.
	Reason string `json:"reason,omitempty"`
}

// AttestationReport is the result of VerifyAttestations.
type AttestationReport struct {
	// Reference is the artifact's reference as given.
	Reference string `json:"reference"`
	// Subject is the artifact's digest, computed from its bytes.
	Subject digest.Digest `json:"subject"`
	// KeyID names the key the attestations were checked with; empty when
	// they were checked keylessly.
	KeyID string `json:"keyID,omitempty"`
	// Keyless describes the certificate identity policy the attestations
	// were checked keylessly against (Identity.String).
	Keyless string `json:"keyless,omitempty"`
	// Verified counts the attestations that verify.
	Verified int `json:"verified"`
	// Attestations lists every attestation examined.
	Attestations []AttestationCheck `json:"attestations"`
	// Runs are the verification reports of the identities (or output
	// records, with their chain) that verified attestations name, one per
	// distinct reference.
	Runs []*pull.Report `json:"runs,omitempty"`
}

// VerifyAttestations checks the run attestations (spec/SPEC.md §14) of the
// artifact that ref names in src with key, offline. The artifact is read
// and hashed (pull.Resolve); its attestations are looked for where cosign puts
// them: the tag "sha256-<hex>.att" and the referrers of the artifact
// (Sigstore bundles). Each must:
//
//   - be a DSSE envelope of payload type application/vnd.in-toto+json
//     whose signatures all verify with key (an envelope with one bad
//     signature does not verify);
//   - hold an in-toto statement, valid by the in-toto Go types, one of
//     whose subjects is the artifact's digest;
//   - have a run predicate or SLSA provenance of a run (other predicate
//     types are listed and skipped);
//   - name an identity (and an output record) that pull.Verify verifies in
//     full from opts.IdentityStore, with opts.Verify's keys if set.
//
// At least one attestation must verify; zero is a failure. The report
// lists every attestation examined; when none verifies a
// *VerificationError (wrapping pull.ErrVerification) gives one problem per
// attestation. Any other error means the artifact or its attestations
// could not be read.
func VerifyAttestations(ctx context.Context, src oras.ReadOnlyTarget, ref string, key signature.Verifier, opts AttestationOptions) (*AttestationReport, error) {
	if key == nil {
		return nil, fmt.Errorf("verify attestations: %w", ErrNoKey)
	}
	keyID, err := sign.VerifierKeyID(key)
	if err != nil {
		return nil, fmt.Errorf("verify attestations: %w", err)
	}
	return verifyAttestations(ctx, src, ref, keyStatements{key}, &AttestationReport{KeyID: keyID}, opts)
}

// VerifyKeylessAttestations is VerifyAttestations for attestations signed
// keylessly (a Fulcio certificate and a Rekor entry, as "cosign attest"
// signs without a key), checked offline against keyless.TrustedRoot and
// keyless.Identity as VerifyKeyless checks signatures: the log entry (its
// signed entry timestamp, or inclusion proof and checkpoint), the signing
// time it or an RFC 3161 timestamp proves, the certificate chain to a
// Fulcio CA valid at that time, the SCT (unless keyless.IgnoreSCT), the
// envelope's one signature, the identity and issuer; then the statement
// names the artifact, and the run it names verifies. Attestations are
// found in both formats: a DSSE layer of the "sha256-<hex>.att" manifest
// with cosign's certificate and Rekor bundle annotations, and a Sigstore
// bundle referrer. keyless.Options is not used: opts.Signature bounds the
// reading.
func VerifyKeylessAttestations(ctx context.Context, src oras.ReadOnlyTarget, ref string, keyless KeylessOptions, opts AttestationOptions) (*AttestationReport, error) {
	if keyless.TrustedRoot == nil {
		return nil, fmt.Errorf("verify attestations: %w: none given (no trusted root is fetched)", ErrTrustedRoot)
	}
	ident, err := keyless.Identity.policy()
	if err != nil {
		return nil, fmt.Errorf("verify attestations: %w", err)
	}
	c := keylessChecker{trusted: keyless.TrustedRoot, identity: ident, ignoreSCT: keyless.IgnoreSCT}
	return verifyAttestations(ctx, src, ref, keylessStatements{c}, &AttestationReport{Keyless: keyless.Identity.String()}, opts)
}

func verifyAttestations(ctx context.Context, src oras.ReadOnlyTarget, ref string, checker statementChecker, rep *AttestationReport, opts AttestationOptions) (*AttestationReport, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sopts := opts.Signature
	if sopts.Logger == nil {
		sopts.Logger = opts.Logger
	}
	sopts = sopts.withDefaults()
	if opts.IdentityStore == nil {
		opts.IdentityStore = src
	}
	res, err := pull.Resolve(ctx, src, ref, opts.Verify.Options)
	if err != nil {
		return nil, err
	}
	subject := res.Descriptor
	rep.Reference, rep.Subject, rep.Attestations = ref, subject.Digest, []AttestationCheck{}
	fail := func(probs ...spec.Problem) (*AttestationReport, error) {
		return rep, &pull.VerificationError{Reference: ref, Problems: probs}
	}
	tag, err := sign.AttestationTag(subject.Digest)
	if err != nil {
		return nil, err
	}
	cands, tooMany, err := findCosignManifests(ctx, src, subject, tag, sign.MayHoldAttestations, sopts)
	if err != nil {
		return nil, err
	}
	if tooMany {
		return fail(spec.Problem{Check: "attestation-count", Subject: subject.Digest.String(),
			Msg: fmt.Sprintf("more than %d attestation artifacts: refusing to examine them (cosign's bound)", sopts.MaxSignatures)})
	}
	av := &attVerifier{sigVerifier: sigVerifier{src: src, subject: subject.Digest, opts: sopts, seen: map[string]bool{}}, checker: checker,
		rep: rep, opts: opts, runs: map[string]*runResult{}}
	for _, c := range cands {
		if err := av.manifest(ctx, c); err != nil {
			return nil, err
		}
		if av.tooMany {
			rep.Verified = 0
			return fail(spec.Problem{Check: "attestation-count", Subject: subject.Digest.String(),
				Msg: fmt.Sprintf("more than %d attestations: refusing to examine them (cosign's bound)", sopts.MaxSignatures)})
		}
	}
	if rep.Verified > 0 {
		return rep, nil
	}
	if len(rep.Attestations) == 0 {
		return fail(spec.Problem{Check: "attestation", Subject: subject.Digest.String(),
			Msg: fmt.Sprintf("no run attestations found (looked at the tag %s and the referrers)", tag)})
	}
	var probs []spec.Problem
	for _, a := range rep.Attestations {
		probs = append(probs, spec.Problem{Check: "attestation", Subject: a.Manifest.String(),
			Msg: fmt.Sprintf("%s-format attestation does not verify: %s", a.Format, a.Reason)})
	}
	return fail(probs...)
}

// runResult is the outcome of verifying one identity or record reference.
type runResult struct {
	rep *pull.Report
	err error
}

type attVerifier struct {
	sigVerifier
	checker statementChecker
	rep     *AttestationReport
	opts    AttestationOptions
	runs    map[string]*runResult
}

// statementChecker checks the signature of an attestation, a DSSE envelope
// (a tag-format layer with its annotations) or a Sigstore bundle, and that
// its statement names subject; it returns the statement, and the signer of
// a keyless attestation.
type statementChecker interface {
	envelope(env []byte, annotations map[string]string, subject digest.Digest) ([]byte, *pull.KeylessSigner, error)
	bundle(b []byte, subject digest.Digest) ([]byte, *pull.KeylessSigner, error)
}

// keyStatements checks attestations with a public key.
type keyStatements struct{ key signature.Verifier }

func (k keyStatements) envelope(env []byte, _ map[string]string, subject digest.Digest) ([]byte, *pull.KeylessSigner, error) {
	stmt, err := sign.VerifyDSSE(env, k.key, subject)
	return stmt, nil, err
}

func (k keyStatements) bundle(b []byte, subject digest.Digest) ([]byte, *pull.KeylessSigner, error) {
	stmt, err := sign.VerifyStatementBundle(b, k.key, subject)
	return stmt, nil, err
}

// keylessStatements checks keyless attestations.
type keylessStatements struct{ c keylessChecker }

func (k keylessStatements) envelope(env []byte, annotations map[string]string, subject digest.Digest) ([]byte, *pull.KeylessSigner, error) {
	bundle, err := TagAttestationBundle(env, annotations)
	if err != nil {
		return nil, nil, &KeylessError{Check: "format", Err: err}
	}
	return k.c.statement(bundle, subject)
}

func (k keylessStatements) bundle(b []byte, subject digest.Digest) ([]byte, *pull.KeylessSigner, error) {
	bundle, err := sign.ParseBundle(b)
	if err != nil {
		return nil, nil, &KeylessError{Check: "format", Err: err}
	}
	return k.c.statement(bundle, subject)
}

// manifest examines one candidate manifest. It returns an error only when
// the source cannot be read.
func (v *attVerifier) manifest(ctx context.Context, c sigManifest) error {
	check := AttestationCheck{Manifest: c.desc.Digest, Found: c.found, Format: "unknown"}
	data, err := v.fetch(ctx, c.desc, spec.MaxSignatureManifestSize)
	if err != nil {
		if isReadFailure(err) {
			return err
		}
		return v.record(ctx, check, nil, fmt.Errorf("attestation manifest: %w", err))
	}
	m, err := sign.ParseManifest(data)
	if err == nil && len(m.Layers) > v.sigVerifier.opts.MaxLayers {
		err = fmt.Errorf("%w: %d layers", sign.ErrTooLarge, len(m.Layers))
	}
	if err != nil {
		return v.record(ctx, check, nil, err)
	}
	switch sign.KindOf(m) {
	case sign.KindAttestationTag:
		check.Format = pull.SignatureFormatTag
		for _, l := range m.Layers {
			if l.MediaType != sign.DSSEMediaType {
				continue
			}
			if pt := l.Annotations[sign.PredicateTypeAnnotation]; v.opts.PredicateType != "" && pt != "" && pt != v.opts.PredicateType {
				continue
			}
			// The same envelope with other proofs (a keyless one's
			// certificate and log entry) is another attestation.
			if !v.once("tag " + l.Digest.String() + " " + l.Annotations[spec.CertificateAnnotation] + " " + l.Annotations[spec.RekorBundleAnnotation]) {
				continue
			}
			lc := check
			lc.Blob = l.Digest
			env, err := v.fetch(ctx, l, v.sigVerifier.opts.MaxArtifactSize)
			if err != nil {
				if isReadFailure(err) {
					return err
				}
				if err := v.record(ctx, lc, nil, fmt.Errorf("envelope: %w", err)); err != nil {
					return err
				}
				continue
			}
			stmt, signer, err := v.checker.envelope(env, l.Annotations, v.subject)
			lc.Signer = signer
			if err := v.record(ctx, lc, stmt, err); err != nil {
				return err
			}
			if v.tooMany {
				return nil
			}
		}
	case sign.KindAttestationBundle, sign.KindBundle:
		// The predicate type annotation is a hint, and not always right
		// (cosign v2.6.5's "attest --signing-config" gives attestations
		// the signature predicate type): a bundle the annotation calls a
		// signature is read, and the statement it holds decides.
		pt := m.Annotations[spec.BundlePredicateTypeAnnotation]
		if v.opts.PredicateType != "" && pt != "" && pt != spec.SignPredicateType && pt != v.opts.PredicateType {
			return nil // another predicate type
		}
		check.Format = pull.SignatureFormatBundle
		if len(m.Layers) != 1 || m.Layers[0].MediaType != spec.BundleMediaType {
			if pt == spec.SignPredicateType {
				return nil // a signature, by its annotation
			}
			return v.record(ctx, check, nil, fmt.Errorf("%w: want exactly one layer of type %s", sign.ErrMalformedBundle, spec.BundleMediaType))
		}
		l := m.Layers[0]
		check.Blob = l.Digest
		if !v.once("bundle " + l.Digest.String()) {
			return nil
		}
		b, err := v.fetch(ctx, l, v.sigVerifier.opts.MaxArtifactSize)
		if err != nil {
			if isReadFailure(err) {
				return err
			}
			if pt == spec.SignPredicateType {
				return nil
			}
			return v.record(ctx, check, nil, fmt.Errorf("bundle: %w", err))
		}
		if spt := bundlePredicateType(b); spt == spec.SignPredicateType || (spt == "" && pt == spec.SignPredicateType) {
			return nil // a signature (deciding to skip needs no proof)
		}
		stmt, signer, err := v.checker.bundle(b, v.subject)
		check.Signer = signer
		return v.record(ctx, check, stmt, err)
	}
	return nil
}

// bundlePredicateType is the predicate type of the statement in the DSSE
// envelope of bundle b, unverified, or "" when b holds no envelope (a
// message signature) or cannot be read.
func bundlePredicateType(b []byte) string {
	bundle, err := sign.ParseBundle(b)
	if err != nil {
		return ""
	}
	return sign.StatementPredicateType(bundle.GetDsseEnvelope().GetPayload())
}

// once reports whether key is seen for the first time, counting it against
// the bound.
func (v *attVerifier) once(key string) bool {
	if v.seen[key] {
		return false
	}
	v.seen[key] = true
	if v.count++; v.count > v.sigVerifier.opts.MaxSignatures {
		v.tooMany = true
		return false
	}
	return true
}

// record finishes the check of one attestation whose signature check gave
// sigErr and statement stmt: it reads the statement and verifies the run
// it names. It returns an error only when the identity could not be read
// for another reason than its absence (network, authentication).
func (v *attVerifier) record(ctx context.Context, c AttestationCheck, stmt []byte, sigErr error) error {
	add := func(err error) error {
		if err == nil {
			c.Verified = true
			v.rep.Verified++
		} else {
			c.Reason = err.Error()
		}
		v.rep.Attestations = append(v.rep.Attestations, c)
		return nil
	}
	if sigErr != nil {
		return add(sigErr)
	}
	p, err := attest.ParseStatement(stmt)
	if p != nil {
		c.PredicateType = p.PredicateType
	} else {
		c.PredicateType = sign.StatementPredicateType(stmt)
	}
	if errors.Is(err, attest.ErrPredicate) && v.opts.PredicateType == "" {
		v.opts.Logger.Debug("attestation of another predicate type skipped", "manifest", c.Manifest, "predicateType", c.PredicateType)
		return nil
	}
	if err != nil {
		return add(fmt.Errorf("statement: %w", err))
	}
	if v.opts.PredicateType != "" && p.PredicateType != v.opts.PredicateType {
		return nil
	}
	id := p.Identity
	c.Identity, c.OutputRecord = &id, p.OutputRecord
	ref := id.Digest.String()
	if p.OutputRecord != "" {
		ref = p.OutputRecord.String()
	}
	r, ok := v.runs[ref]
	if !ok {
		rep, err := pull.Verify(ctx, v.opts.IdentityStore, ref, v.opts.Verify)
		r = &runResult{rep: rep, err: err}
		v.runs[ref] = r
		if rep != nil {
			v.rep.Runs = append(v.rep.Runs, rep)
		}
	}
	var ve *pull.VerificationError
	switch {
	case r.err == nil:
	case errors.As(r.err, &ve), errors.Is(r.err, pull.ErrNotFound):
		return add(fmt.Errorf("the run it names does not verify: %w", r.err))
	default:
		return r.err
	}
	if p.OutputRecord != "" {
		// The record verified with its chain; it must be a record of the
		// identity named.
		i := slices.IndexFunc(r.rep.Chain, func(l pull.ChainLink) bool { return l.Kind == pull.ChainIdentity })
		if i < 0 || r.rep.Chain[i].Digest != id.Digest {
			return add(fmt.Errorf("the output record %s is not a record of the identity %s", p.OutputRecord, id.Digest))
		}
	}
	return add(nil)
}
