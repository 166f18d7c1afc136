package sigverify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// MaxTrustedRootSize caps a trusted root file: Sigstore's public-good root
// is about 10 KiB.
const MaxTrustedRootSize = 1 << 20

// Sentinel errors of keyless verification; test with errors.Is.
var (
	// ErrTrustedRoot: the trusted root cannot be read or parsed.
	ErrTrustedRoot = errors.New("unusable trusted root")
	// ErrIdentityPolicy: the certificate identity policy is incomplete or
	// invalid (a subject and an issuer are both needed; a bad regexp).
	ErrIdentityPolicy = errors.New("invalid certificate identity policy")
)

// LoadTrustedRoot reads a Sigstore trusted root (the JSON that "cosign
// trusted-root create" writes and Sigstore's TUF repository serves as
// trusted_root.json): the Fulcio certificate authorities, the Rekor and CT
// log keys and the timestamp authorities that keyless signatures are
// checked against. The file must be a regular file of at most
// MaxTrustedRootSize bytes.
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTrustedRoot, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTrustedRoot, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrTrustedRoot, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxTrustedRootSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTrustedRoot, path, err)
	}
	if len(b) > MaxTrustedRootSize {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrTrustedRoot, path, MaxTrustedRootSize)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTrustedRoot, path, err)
	}
	return tr, nil
}

// Identity is the certificate identity policy of keyless verification,
// with cosign's meanings: the certificate's subject alternative name
// (an email, a URI such as a workflow path) must equal Subject or match
// SubjectRegexp, and its OIDC issuer must equal Issuer or match
// IssuerRegexp. Regular expressions are Go's (RE2) and, as in cosign, match
// anywhere unless anchored with ^ and $. The GitHub fields, when set, must
// equal the certificate's GitHub workflow extensions.
type Identity struct {
	// Subject is cosign's --certificate-identity.
	Subject string `json:"subject,omitempty"`
	// SubjectRegexp is cosign's --certificate-identity-regexp.
	SubjectRegexp string `json:"subjectRegexp,omitempty"`
	// Issuer is cosign's --certificate-oidc-issuer.
	Issuer string `json:"issuer,omitempty"`
	// IssuerRegexp is cosign's --certificate-oidc-issuer-regexp.
	IssuerRegexp string `json:"issuerRegexp,omitempty"`
	// GitHubWorkflowTrigger is --certificate-github-workflow-trigger (the
	// event that ran the workflow, such as "push").
	GitHubWorkflowTrigger string `json:"githubWorkflowTrigger,omitempty"`
	// GitHubWorkflowSHA is --certificate-github-workflow-sha (the commit).
	GitHubWorkflowSHA string `json:"githubWorkflowSHA,omitempty"`
	// GitHubWorkflowName is --certificate-github-workflow-name.
	GitHubWorkflowName string `json:"githubWorkflowName,omitempty"`
	// GitHubWorkflowRepository is --certificate-github-workflow-repository
	// ("owner/name").
	GitHubWorkflowRepository string `json:"githubWorkflowRepository,omitempty"`
	// GitHubWorkflowRef is --certificate-github-workflow-ref (such as
	// "refs/heads/main").
	GitHubWorkflowRef string `json:"githubWorkflowRef,omitempty"`
}

// String describes the policy, for reports.
func (id Identity) String() string {
	var parts []string
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, name+" "+v)
		}
	}
	add("identity", id.Subject)
	add("identity matching", id.SubjectRegexp)
	add("issuer", id.Issuer)
	add("issuer matching", id.IssuerRegexp)
	add("workflow trigger", id.GitHubWorkflowTrigger)
	add("workflow sha", id.GitHubWorkflowSHA)
	add("workflow name", id.GitHubWorkflowName)
	add("workflow repository", id.GitHubWorkflowRepository)
	add("workflow ref", id.GitHubWorkflowRef)
	return strings.Join(parts, ", ")
}

// policy builds sigstore-go's certificate identity from id.
func (id Identity) policy() (verify.CertificateIdentity, error) {
	switch {
	case id.Subject == "" && id.SubjectRegexp == "":
		return verify.CertificateIdentity{}, fmt.Errorf("%w: a certificate identity or identity regexp is required", ErrIdentityPolicy)
	case id.Issuer == "" && id.IssuerRegexp == "":
		return verify.CertificateIdentity{}, fmt.Errorf("%w: a certificate OIDC issuer or issuer regexp is required", ErrIdentityPolicy)
	case id.Subject != "" && id.SubjectRegexp != "":
		return verify.CertificateIdentity{}, fmt.Errorf("%w: give a certificate identity or an identity regexp, not both", ErrIdentityPolicy)
	case id.Issuer != "" && id.IssuerRegexp != "":
		return verify.CertificateIdentity{}, fmt.Errorf("%w: give a certificate OIDC issuer or an issuer regexp, not both", ErrIdentityPolicy)
	}
	san, err := verify.NewSANMatcher(id.Subject, id.SubjectRegexp)
	if err != nil {
		return verify.CertificateIdentity{}, fmt.Errorf("%w: identity: %v", ErrIdentityPolicy, err)
	}
	iss, err := verify.NewIssuerMatcher(id.Issuer, id.IssuerRegexp)
	if err != nil {
		return verify.CertificateIdentity{}, fmt.Errorf("%w: issuer: %v", ErrIdentityPolicy, err)
	}
	ci, err := verify.NewCertificateIdentity(san, iss, certificate.Extensions{
		GithubWorkflowTrigger:    id.GitHubWorkflowTrigger,
		GithubWorkflowSHA:        id.GitHubWorkflowSHA,
		GithubWorkflowName:       id.GitHubWorkflowName,
		GithubWorkflowRepository: id.GitHubWorkflowRepository,
		GithubWorkflowRef:        id.GitHubWorkflowRef,
	})
	if err != nil {
		return verify.CertificateIdentity{}, fmt.Errorf("%w: %v", ErrIdentityPolicy, err)
	}
	return ci, nil
}

// KeylessOptions configure VerifyKeyless.
type KeylessOptions struct {
	// TrustedRoot holds the Fulcio CAs, Rekor and CT log keys and
	// timestamp authorities (LoadTrustedRoot). Required: none is fetched.
	TrustedRoot root.TrustedMaterial
	// Identity is the certificate identity policy. Required: a subject (or
	// regexp) and an issuer (or regexp).
	Identity Identity
	// IgnoreSCT skips the check of the certificate's signed certificate
	// timestamp, as cosign's --insecure-ignore-sct: for a private Fulcio
	// that logs to no CT log. Default: the SCT is required.
	IgnoreSCT bool
	// Options bound the reading of signatures.
	Options Options
}

// VerifyKeyless checks the keyless (Sigstore certificate) signatures of
// the manifest subject in src, offline, against opts.TrustedRoot: at least
// one must verify, and zero signatures is a failure, never a pass.
// Signatures are found as VerifySignatures finds them, in both cosign's
// tag format (a certificate, chain and Rekor bundle in the layer's
// annotations) and Sigstore bundles (v0.1 to v0.3) as OCI 1.1 referrers.
//
// Each signature is checked by sigstore-go's verifier, in this order:
// every transparency log entry it carries verifies against a log of the
// trusted root (signed entry timestamp, or inclusion proof and signed
// checkpoint); the signing time is proven by at least one such log entry or
// an RFC 3161 timestamp from a timestamp authority of the trusted root;
// the certificate chains to a Fulcio CA of the trusted root and is valid at
// each proven time; the certificate carries a valid SCT from a CT log of
// the trusted root (unless IgnoreSCT); the signature verifies with the
// certificate's key; the certificate's identity and issuer match
// opts.Identity. Then the signed payload must name subject (the claim
// check of key-based verification). A failure's reason names the check
// that failed. Signatures made with a key, not a certificate, do not
// verify here.
func VerifyKeyless(ctx context.Context, src oras.ReadOnlyTarget, subject ocispec.Descriptor, opts KeylessOptions) (*pull.SignatureReport, error) {
	o := opts.Options.withDefaults()
	if opts.TrustedRoot == nil {
		return nil, fmt.Errorf("verify keyless signatures: %w: none given (no trusted root is fetched)", ErrTrustedRoot)
	}
	ident, err := opts.Identity.policy()
	if err != nil {
		return nil, fmt.Errorf("verify keyless signatures: %w", err)
	}
	if err := subject.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("verify keyless signatures: %w: subject %q: %v", pull.ErrInvalidReference, subject.Digest, err)
	}
	rep := &pull.SignatureReport{Subject: subject.Digest, Keyless: opts.Identity.String(), Signatures: []pull.SignatureCheck{}}
	c := keylessChecker{trusted: opts.TrustedRoot, identity: ident, ignoreSCT: opts.IgnoreSCT}
	return runChecks(ctx, src, subject, c, o, rep)
}

// KeylessVerifier checks keyless signatures; it implements
// pull.SignatureVerifier, for VerifyOptions.Signatures.
type KeylessVerifier struct {
	KeylessOptions
}

// VerifySignatures runs VerifyKeyless with v's options.
func (v KeylessVerifier) VerifySignatures(ctx context.Context, src oras.ReadOnlyTarget, subject ocispec.Descriptor) (*pull.SignatureReport, error) {
	return VerifyKeyless(ctx, src, subject, v.KeylessOptions)
}

// keylessChecker checks signatures with sigstore-go's verifier.
type keylessChecker struct {
	trusted   root.TrustedMaterial
	identity  verify.CertificateIdentity
	ignoreSCT bool
}

// KeylessError is a keyless signature that does not verify: Check names the
// check that failed ("certificate chain", "signing time", "certificate
// SCT", "identity", "signature", "claim", "format").
type KeylessError struct {
	Check string
	Err   error
}

func (e *KeylessError) Error() string { return e.Check + ": " + e.Err.Error() }
func (e *KeylessError) Unwrap() error { return e.Err }

// classify names the check of a sigstore-go verification error.
func classify(err error) *KeylessError {
	msg := err.Error()
	check := "signature"
	switch {
	case strings.Contains(msg, "outside certificate validity"):
		// The log saw the signature when the certificate was not valid.
		check = "certificate chain"
	case strings.Contains(msg, "failed to verify log inclusion"):
		check = "transparency log"
	case strings.Contains(msg, "failed to verify timestamps"), strings.Contains(msg, "no valid observer timestamps"),
		strings.Contains(msg, "must provide timestamp"):
		check = "signing time"
	case strings.Contains(msg, "failed to verify leaf certificate"):
		check = "certificate chain"
	case strings.Contains(msg, "failed to verify signed certificate timestamp"):
		check = "certificate SCT"
	case strings.Contains(msg, "failed to verify certificate identity"):
		check = "identity"
	case strings.Contains(msg, "expected key signature"), strings.Contains(msg, "bundle"):
		check = "format"
	}
	return &KeylessError{Check: check, Err: err}
}

func (k keylessChecker) verifier(entity verify.SignedEntity) (*verify.Verifier, error) {
	vopts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	// Every log entry the signature carries must verify, even when a
	// timestamp authority also proves the time.
	if entries, err := entity.TlogEntries(); err == nil && len(entries) > 0 {
		vopts = append(vopts, verify.WithTransparencyLog(len(entries)))
	}
	if !k.ignoreSCT {
		vopts = append(vopts, verify.WithSignedCertificateTimestamps(1))
	}
	return verify.NewVerifier(k.trusted, vopts...)
}

// run verifies entity with the artifact policy and returns who signed.
func (k keylessChecker) run(entity verify.SignedEntity, artifact verify.ArtifactPolicyOption) (*pull.KeylessSigner, error) {
	vc, err := entity.VerificationContent()
	if err != nil {
		return nil, &KeylessError{Check: "format", Err: err}
	}
	cert := vc.Certificate()
	if cert == nil {
		return nil, &KeylessError{Check: "format", Err: errors.New("signed with a key, not a certificate: verify it with --key")}
	}
	var signer *pull.KeylessSigner
	if sum, err := certificate.SummarizeCertificate(cert); err == nil {
		signer = &pull.KeylessSigner{Identity: sum.SubjectAlternativeName, Issuer: sum.Issuer}
	}
	v, err := k.verifier(entity)
	if err != nil {
		return signer, &KeylessError{Check: "format", Err: err}
	}
	res, err := v.Verify(entity, verify.NewPolicy(artifact, verify.WithCertificateIdentity(k.identity)))
	if err != nil {
		return signer, classify(err)
	}
	if signer != nil {
		for _, t := range res.VerifiedTimestamps {
			kind := "tlog"
			if t.Type == "TimestampAuthority" {
				kind = "tsa"
			}
			signer.SigningTimes = append(signer.SigningTimes, pull.SigningTime{Kind: kind, URI: t.URI, Time: t.Timestamp.UTC()})
		}
	}
	return signer, nil
}

func (k keylessChecker) bundle(b []byte, subject digest.Digest) (*pull.KeylessSigner, error) {
	bundle, err := sign.ParseBundle(b)
	if err != nil {
		return nil, &KeylessError{Check: "format", Err: err}
	}
	switch c := bundle.GetContent().(type) {
	case *protobundle.Bundle_DsseEnvelope:
		if pt := c.DsseEnvelope.GetPayloadType(); pt != spec.InTotoPayloadType {
			return nil, &KeylessError{Check: "format", Err: fmt.Errorf("%w: DSSE payload type %q, want %q", sign.ErrMalformedPayload, pt, spec.InTotoPayloadType)}
		}
		// The envelope's signature is verified without an artifact; the
		// claim is checked after the identity.
		signer, err := k.run(bundle, verify.WithoutArtifactUnsafe())
		if err != nil {
			return signer, err
		}
		if err := sign.CheckInTotoStatement(c.DsseEnvelope.GetPayload(), subject); err != nil {
			return signer, &KeylessError{Check: "claim", Err: err}
		}
		// An attestation about the manifest is not a signature of it.
		if pt := sign.StatementPredicateType(c.DsseEnvelope.GetPayload()); pt != spec.SignPredicateType {
			return signer, &KeylessError{Check: "claim", Err: fmt.Errorf("%w: an attestation of predicate type %q, not a signature (%s)", sign.ErrMalformedPayload, pt, spec.SignPredicateType)}
		}
		return signer, nil
	case *protobundle.Bundle_MessageSignature:
		raw, err := digestRaw(subject)
		if err != nil {
			return nil, err
		}
		return k.run(bundle, verify.WithArtifactDigest(subject.Algorithm().String(), raw))
	default:
		return nil, &KeylessError{Check: "format", Err: fmt.Errorf("%w: no DSSE envelope or message signature", sign.ErrMalformedBundle)}
	}
}

func (k keylessChecker) tag(_ context.Context, payload []byte, l ocispec.Descriptor, subject digest.Digest) (*pull.KeylessSigner, error) {
	bundle, err := TagSignatureBundle(payload, l.Annotations)
	if err != nil {
		return nil, &KeylessError{Check: "format", Err: err}
	}
	signer, err := k.run(bundle, verify.WithArtifact(bytes.NewReader(payload)))
	if err != nil {
		return signer, err
	}
	if err := sign.CheckSimpleSigning(payload, subject); err != nil {
		return signer, &KeylessError{Check: "claim", Err: err}
	}
	return signer, nil
}

// TagSignatureBundle expresses a keyless tag-format signature (its
// simple-signing payload and the annotations of its layer: signature,
// certificate, Rekor bundle, RFC 3161 timestamp) as the Sigstore bundle
// that carries the same proofs, for sigstore-go's verifier: a message
// signature over the payload, the leaf certificate, the Rekor entry with
// its signed entry timestamp, and the timestamp. The certificate chain
// annotation is not used: intermediates come from the trusted root, as in
// cosign's verification against a trusted root.
func TagSignatureBundle(payload []byte, annotations map[string]string) (*sgbundle.Bundle, error) {
	sig, err := sign.DecodeSignature(annotations[spec.SignatureAnnotation])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(payload)
	return tagBundle(annotations, &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
		Signature:     sig,
	}})
}

// TagAttestationBundle expresses a keyless tag-format attestation (the DSSE
// envelope of a layer of the "sha256-<hex>.att" manifest and the layer's
// annotations: certificate, Rekor bundle, RFC 3161 timestamp) as the
// Sigstore bundle that carries the same envelope and proofs, for
// sigstore-go's verifier, as TagSignatureBundle does for signatures.
func TagAttestationBundle(envelope []byte, annotations map[string]string) (*sgbundle.Bundle, error) {
	var env ssldsse.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("%w: DSSE envelope: %v", sign.ErrMalformedPayload, err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: DSSE payload is not base64: %v", sign.ErrMalformedPayload, err)
	}
	pe := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for i, s := range env.Signatures {
		sig, err := sign.DecodeSignature(s.Sig)
		if err != nil {
			return nil, fmt.Errorf("DSSE signature %d of %d: %w", i+1, len(env.Signatures), err)
		}
		pe.Signatures = append(pe.Signatures, &protodsse.Signature{Sig: sig, Keyid: s.KeyID})
	}
	return tagBundle(annotations, &protobundle.Bundle_DsseEnvelope{DsseEnvelope: pe})
}

// tagBundle is a Sigstore bundle v0.1 of content with the proofs of
// cosign's annotations on a tag-format layer: the leaf certificate, the
// Rekor entry with its signed entry timestamp, and the RFC 3161 timestamp.
// The certificate chain annotation is not used: intermediates come from the
// trusted root, as in cosign's verification against a trusted root.
func tagBundle(annotations map[string]string, content any) (*sgbundle.Bundle, error) {
	certPEM := annotations[spec.CertificateAnnotation]
	if certPEM == "" {
		return nil, fmt.Errorf("%w: no certificate annotation (%s): not a keyless signature", sign.ErrMalformedSignature, spec.CertificateAnnotation)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(certPEM))
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("%w: certificate annotation: not a PEM certificate", sign.ErrMalformedSignature)
	}
	var entry *protorekor.TransparencyLogEntry
	if rb := annotations[spec.RekorBundleAnnotation]; rb != "" {
		if entry, err = rekorEntry(rb); err != nil {
			return nil, err
		}
	}
	var tsr []byte
	if ts := annotations[spec.RFC3161TimestampAnnotation]; ts != "" {
		var t struct{ SignedRFC3161Timestamp []byte }
		if err := json.Unmarshal([]byte(ts), &t); err != nil || len(t.SignedRFC3161Timestamp) == 0 {
			return nil, fmt.Errorf("%w: %s annotation: not cosign's RFC 3161 timestamp JSON", sign.ErrMalformedSignature, spec.RFC3161TimestampAnnotation)
		}
		tsr = t.SignedRFC3161Timestamp
	}
	// Version 0.1: a log entry proven by its signed entry timestamp alone.
	pb := &protobundle.Bundle{
		MediaType: spec.BundleV01MediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: certs[0].Raw}},
		},
	}
	if entry != nil {
		pb.VerificationMaterial.TlogEntries = append(pb.VerificationMaterial.TlogEntries, entry)
	}
	if len(tsr) > 0 {
		pb.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: tsr}},
		}
	}
	switch c := content.(type) {
	case *protobundle.Bundle_MessageSignature:
		pb.Content = c
	case *protobundle.Bundle_DsseEnvelope:
		pb.Content = c
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", sign.ErrMalformedSignature, err)
	}
	return b, nil
}

// statement checks a keyless attestation, a bundle holding a DSSE envelope
// over an in-toto statement, and returns the statement: the envelope has
// exactly one signature, which verifies with the certificate (run), and
// the statement names subject.
func (k keylessChecker) statement(bundle *sgbundle.Bundle, subject digest.Digest) ([]byte, *pull.KeylessSigner, error) {
	c, ok := bundle.GetContent().(*protobundle.Bundle_DsseEnvelope)
	if !ok {
		return nil, nil, &KeylessError{Check: "format", Err: fmt.Errorf("%w: no DSSE envelope (an attestation holds one)", sign.ErrMalformedBundle)}
	}
	env := c.DsseEnvelope
	if pt := env.GetPayloadType(); pt != spec.InTotoPayloadType {
		return nil, nil, &KeylessError{Check: "format", Err: fmt.Errorf("%w: DSSE payload type %q is not an in-toto statement (%s)", sign.ErrMalformedPayload, pt, spec.InTotoPayloadType)}
	}
	if n := len(env.GetSignatures()); n != 1 {
		return nil, nil, &KeylessError{Check: "format", Err: fmt.Errorf("%w: the DSSE envelope has %d signatures; a keyless one has exactly one, by its certificate", sign.ErrMalformedSignature, n)}
	}
	signer, err := k.run(bundle, verify.WithoutArtifactUnsafe())
	if err != nil {
		return nil, signer, err
	}
	if err := sign.CheckInTotoStatement(env.GetPayload(), subject); err != nil {
		return nil, signer, &KeylessError{Check: "claim", Err: err}
	}
	return env.GetPayload(), signer, nil
}

// rekorBundle is cosign's Rekor bundle annotation.
type rekorBundle struct {
	SignedEntryTimestamp []byte
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	}
}

// rekorEntry reads cosign's Rekor bundle annotation as the transparency log
// entry of a Sigstore bundle: the entry with its signed entry timestamp
// (cosign's tag format keeps no inclusion proof).
func rekorEntry(annotation string) (*protorekor.TransparencyLogEntry, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s annotation: %s", sign.ErrMalformedSignature, spec.RekorBundleAnnotation, fmt.Sprintf(format, a...))
	}
	var rb rekorBundle
	if err := json.Unmarshal([]byte(annotation), &rb); err != nil {
		return nil, bad("%v", err)
	}
	if rb.Payload.Body == "" || rb.Payload.LogID == "" || len(rb.SignedEntryTimestamp) == 0 {
		return nil, bad("missing body, log ID or signed entry timestamp")
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, bad("body is not base64")
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, bad("log ID is not hex")
	}
	var kv struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kv); err != nil || kv.Kind == "" || kv.APIVersion == "" {
		return nil, bad("body is not a Rekor entry with a kind and an API version")
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}

func digestRaw(d digest.Digest) ([]byte, error) {
	b, err := hex.DecodeString(d.Encoded())
	if err != nil {
		return nil, &KeylessError{Check: "format", Err: fmt.Errorf("%w: %v", sign.ErrMalformedPayload, err)}
	}
	return b, nil
}
