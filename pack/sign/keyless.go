package sign

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/spec"
)

// IdentityTokenEnv is the environment variable holding an OIDC identity
// token for keyless signing, as cosign reads it.
const IdentityTokenEnv = "SIGSTORE_ID_TOKEN"

// MaxIdentityTokenSize caps an identity token file.
const MaxIdentityTokenSize = 64 << 10

// DefaultKeylessTimeout bounds each request to Fulcio and Rekor.
const DefaultKeylessTimeout = 30 * time.Second

// Errors of keyless signing; test with errors.Is.
var (
	// ErrKeylessConfig: a Fulcio URL, a Rekor URL or an identity token is
	// missing or unusable.
	ErrKeylessConfig = errors.New("keyless signing is not configured")
	// ErrKeyless: Fulcio or Rekor refused or could not be reached.
	ErrKeyless = errors.New("keyless signing failed")
)

// KeylessOptions configure SignKeyless.
type KeylessOptions struct {
	// FulcioURL is the base URL of the Fulcio that certifies the
	// ephemeral key (its /api/v2/signingCert). Required.
	FulcioURL string
	// RekorURL is the base URL of the Rekor (API v1) that logs the
	// signature. Required.
	RekorURL string
	// IdentityToken is the OIDC identity token Fulcio binds the
	// certificate to. Required (ReadIdentityToken reads it as cosign does).
	IdentityToken string
	// Timeout bounds each request to Fulcio and Rekor.
	// Default: DefaultKeylessTimeout.
	Timeout time.Duration
	// Transport carries the requests to Fulcio (sigstore-go's Rekor client
	// takes none). Default: http.DefaultTransport.
	Transport http.RoundTripper
	// Keypair signs. Default: a fresh ECDSA P-256 key, used once and
	// forgotten, as cosign's keyless signing does.
	Keypair sgsign.Keypair
	// Sign configures the storage, as for Sign.
	Sign SignOptions
}

// ReadIdentityToken reads an identity token as cosign does: from the file
// path when it is not empty (surrounding white space trimmed), else from
// the environment variable SIGSTORE_ID_TOKEN. The file must be a regular
// file of at most MaxIdentityTokenSize bytes.
func ReadIdentityToken(path string) (string, error) {
	if path == "" {
		if tok := strings.TrimSpace(os.Getenv(IdentityTokenEnv)); tok != "" {
			return tok, nil
		}
		return "", fmt.Errorf("%w: no identity token (give a token file or set %s)", ErrKeylessConfig, IdentityTokenEnv)
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: identity token: %v", ErrKeylessConfig, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%w: identity token %s is not a regular file", ErrKeylessConfig, path)
	}
	if st.Size() > MaxIdentityTokenSize {
		return "", fmt.Errorf("%w: identity token %s is over %d bytes", ErrKeylessConfig, path, MaxIdentityTokenSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: identity token: %v", ErrKeylessConfig, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%w: identity token %s is empty", ErrKeylessConfig, path)
	}
	return tok, nil
}

// SignKeyless signs the manifest that ref names in target keylessly, as
// "cosign sign" does without a key, against the Fulcio and Rekor that opts
// name (a private Sigstore deployment): a fresh key is certified by Fulcio
// for the identity of opts.IdentityToken, the manifest is signed with it,
// and the signature is logged in Rekor. The signature is stored in
// opts.Sign.Format, with everything a verifier needs offline:
//
//   - tag format: a simple-signing payload layer with the signature, the
//     certificate and the Rekor entry (body, integrated time, log index,
//     log ID, signed entry timestamp) in cosign's annotations;
//   - bundle format: a Sigstore bundle v0.3 with a DSSE envelope over the
//     in-toto statement, the certificate and the Rekor entry with its
//     inclusion proof, as "cosign sign --new-bundle-format" writes it.
//
// Signing goes through sigstore-go's sign package. SignResult.Signer
// names the certificate identity and issuer; KeyID is empty.
func SignKeyless(ctx context.Context, target oras.Target, ref string, opts KeylessOptions) (SignResult, error) {
	so, kp, bopts, err := keylessSetup(ctx, target, opts)
	if err != nil {
		return SignResult{}, fmt.Errorf("sign: %w", err)
	}
	subject, err := resolveSubject(ctx, target, ref)
	if err != nil {
		return SignResult{}, err
	}
	res := SignResult{Subject: subject, Format: so.Format}
	switch so.Format {
	case SignatureFormatTag:
		err = signTag(ctx, target, nil, func(payload []byte) (ocispec.Descriptor, error) {
			pb, err := sgsign.Bundle(&sgsign.PlainData{Data: payload}, kp, bopts)
			if err != nil {
				return ocispec.Descriptor{}, fmt.Errorf("sign: %w: %v", ErrKeyless, err)
			}
			res.Signer = signerOf(pb)
			return keylessLayer(payload, pb)
		}, so, &res)
	case SignatureFormatBundle:
		var stmt []byte
		if stmt, err = InTotoStatement(subject.Digest); err != nil {
			return SignResult{}, fmt.Errorf("sign: %w", err)
		}
		pb, berr := sgsign.Bundle(&sgsign.DSSEData{Data: stmt, PayloadType: spec.InTotoPayloadType}, kp, bopts)
		if berr != nil {
			return SignResult{}, fmt.Errorf("sign: %w: %v", ErrKeyless, berr)
		}
		res.Signer = signerOf(pb)
		b, merr := protojson.Marshal(pb)
		if merr != nil {
			return SignResult{}, fmt.Errorf("sign: %w", merr)
		}
		err = pushBundle(ctx, target, b, so, &res)
	default:
		return SignResult{}, fmt.Errorf("sign: %w: %q (want %q or %q)", ErrSignatureFormat, so.Format, SignatureFormatTag, SignatureFormatBundle)
	}
	if err != nil {
		return SignResult{}, err
	}
	so.Logger.Debug("signed keylessly", "subject", subject.Digest, "format", res.Format, "signature", res.Signature.Digest, "signer", res.Signer)
	return res, nil
}

// keylessSetup checks opts and fills in their defaults: the storage
// options, the key pair, and sigstore-go's bundle options naming the Fulcio
// and Rekor.
func keylessSetup(ctx context.Context, target oras.ReadOnlyTarget, opts KeylessOptions) (SignOptions, sgsign.Keypair, sgsign.BundleOptions, error) {
	switch {
	case opts.FulcioURL == "":
		return SignOptions{}, nil, sgsign.BundleOptions{}, fmt.Errorf("%w: no Fulcio URL", ErrKeylessConfig)
	case opts.RekorURL == "":
		return SignOptions{}, nil, sgsign.BundleOptions{}, fmt.Errorf("%w: no Rekor URL", ErrKeylessConfig)
	case opts.IdentityToken == "":
		return SignOptions{}, nil, sgsign.BundleOptions{}, fmt.Errorf("%w: no identity token", ErrKeylessConfig)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultKeylessTimeout
	}
	so := opts.Sign.withDefaults(target)
	kp := opts.Keypair
	if kp == nil {
		var err error
		if kp, err = sgsign.NewEphemeralKeypair(nil); err != nil {
			return SignOptions{}, nil, sgsign.BundleOptions{}, err
		}
	}
	bopts := sgsign.BundleOptions{
		Context:                    ctx,
		CertificateProvider:        sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: opts.FulcioURL, Timeout: opts.Timeout, Transport: opts.Transport}),
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: opts.IdentityToken},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: opts.RekorURL, Timeout: opts.Timeout})},
	}
	return so, kp, bopts, nil
}

// SignStatementKeyless signs an in-toto statement about subject keylessly,
// as "cosign attest" does without a key, against the Fulcio and Rekor that
// opts name (see SignKeyless): a fresh key certified by Fulcio for the
// identity of opts.IdentityToken signs a DSSE envelope over statement, and
// the envelope is logged in Rekor (a dsse entry). The attestation is stored
// as SignStatement stores it, in opts.Sign.Format, with what a verifier
// needs offline:
//
//   - tag format: the envelope as a layer of the "sha256-<hex>.att"
//     manifest, with the certificate and the Rekor entry (body, integrated
//     time, log index, log ID, signed entry timestamp) in cosign's
//     annotations; the envelope bytes are exactly those logged, so that the
//     entry's envelope hash is the layer's digest;
//   - bundle format: a Sigstore bundle v0.3 holding the envelope, the
//     certificate and the Rekor entry with its inclusion proof.
//
// subject's digest must be computed from its bytes (ResolveSubject) and
// statement must name it. The result's Signer names the certificate
// identity and issuer; KeyID is empty.
func SignStatementKeyless(ctx context.Context, target oras.Target, subject ocispec.Descriptor, statement []byte, opts KeylessOptions) (AttestationResult, error) {
	so, kp, bopts, err := keylessSetup(ctx, target, opts)
	if err != nil {
		return AttestationResult{}, fmt.Errorf("attest: %w", err)
	}
	if err := CheckInTotoStatement(statement, subject.Digest); err != nil {
		return AttestationResult{}, fmt.Errorf("attest: %w: %w", ErrSignSubject, err)
	}
	subject = ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	res := AttestationResult{Subject: subject, Format: so.Format, PredicateType: StatementPredicateType(statement)}
	signed := func() (*protobundle.Bundle, error) {
		pb, err := sgsign.Bundle(&sgsign.DSSEData{Data: statement, PayloadType: spec.InTotoPayloadType}, kp, bopts)
		if err != nil {
			return nil, fmt.Errorf("attest: %w: %v", ErrKeyless, err)
		}
		res.Signer = signerOf(pb)
		return pb, nil
	}
	err = storeStatement(ctx, target, statement, so, &res,
		func([]ocispec.Descriptor) (ocispec.Descriptor, []byte, bool, error) {
			pb, err := signed()
			if err != nil {
				return ocispec.Descriptor{}, nil, false, err
			}
			layer, env, err := keylessAttestationLayer(pb, res.PredicateType)
			return layer, env, false, err
		},
		func() ([]byte, error) {
			pb, err := signed()
			if err != nil {
				return nil, err
			}
			b, err := protojson.Marshal(pb)
			if err != nil {
				return nil, fmt.Errorf("attest: %w", err)
			}
			return b, nil
		})
	if err != nil {
		return res, err
	}
	so.Logger.Debug("attested keylessly", "subject", subject.Digest, "format", res.Format, "predicateType", res.PredicateType, "attestation", res.Attestation.Digest, "signer", res.Signer)
	return res, nil
}

// keylessAttestationLayer is the tag-format layer of a keyless attestation,
// from the bundle sigstore-go made: the envelope JSON as sigstore-go
// submitted it to Rekor (encoding/json of the envelope message, whose hash
// the dsse entry records), with the predicate type and cosign's certificate
// and Rekor bundle annotations.
func keylessAttestationLayer(pb *protobundle.Bundle, predicateType string) (ocispec.Descriptor, []byte, error) {
	env := pb.GetDsseEnvelope()
	if env == nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("attest: %w: the bundle holds no DSSE envelope", ErrKeyless)
	}
	envJSON, err := json.Marshal(env)
	if err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("attest: %w", err)
	}
	cert, rb, err := keylessAnnotations(pb)
	if err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("attest: %w", err)
	}
	layer := AttestationLayer(envJSON, predicateType)
	layer.Annotations[spec.CertificateAnnotation] = cert
	layer.Annotations[spec.RekorBundleAnnotation] = rb
	return layer, envJSON, nil
}

// signerOf describes the certificate of a bundle: "identity (issuer)".
func signerOf(pb *protobundle.Bundle) string {
	raw := pb.GetVerificationMaterial().GetCertificate().GetRawBytes()
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, raw))
	if err != nil || len(certs) == 0 {
		return ""
	}
	sum, err := certificate.SummarizeCertificate(certs[0])
	if err != nil {
		return ""
	}
	return sum.SubjectAlternativeName + " (" + sum.Issuer + ")"
}

// keylessLayer is the tag-format layer of a keyless signature of payload,
// from the bundle sigstore-go made: cosign's signature, certificate and
// Rekor bundle annotations.
func keylessLayer(payload []byte, pb *protobundle.Bundle) (ocispec.Descriptor, error) {
	ms := pb.GetMessageSignature()
	if ms == nil {
		return ocispec.Descriptor{}, fmt.Errorf("sign: %w: the bundle holds no message signature", ErrKeyless)
	}
	cert, rb, err := keylessAnnotations(pb)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("sign: %w", err)
	}
	layer := SignatureLayer(payload, base64.StdEncoding.EncodeToString(ms.GetSignature()))
	layer.Annotations[spec.CertificateAnnotation] = cert
	layer.Annotations[spec.RekorBundleAnnotation] = rb
	return layer, nil
}

// keylessAnnotations gives the values of cosign's certificate (PEM) and
// Rekor bundle annotations for the certificate and the one log entry of a
// bundle sigstore-go made.
func keylessAnnotations(pb *protobundle.Bundle) (cert, rekorBundle string, err error) {
	raw := pb.GetVerificationMaterial().GetCertificate().GetRawBytes()
	entries := pb.GetVerificationMaterial().GetTlogEntries()
	if len(raw) == 0 || len(entries) != 1 {
		return "", "", fmt.Errorf("%w: the signature lacks its certificate or log entry", ErrKeyless)
	}
	e := entries[0]
	if e.GetInclusionPromise() == nil {
		return "", "", fmt.Errorf("%w: the log entry has no signed entry timestamp", ErrKeyless)
	}
	rb, err := json.Marshal(cbundle.RekorBundle{
		SignedEntryTimestamp: e.GetInclusionPromise().GetSignedEntryTimestamp(),
		Payload: cbundle.RekorPayload{
			Body:           base64.StdEncoding.EncodeToString(e.GetCanonicalizedBody()),
			IntegratedTime: e.GetIntegratedTime(),
			LogIndex:       e.GetLogIndex(),
			LogID:          hex.EncodeToString(e.GetLogId().GetKeyId()),
		},
	})
	if err != nil {
		return "", "", err
	}
	return string(cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, raw)), string(rb), nil
}
