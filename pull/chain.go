package pull

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// Kinds of ChainLink.
const (
	// ChainOutputRecord: an output record (spec/SPEC.md §8.1).
	ChainOutputRecord = "output-record"
	// ChainIdentity: the run identity an output record names.
	ChainIdentity = "identity"
)

// ChainLink is one manifest of a verified chain: the output record given
// to Verify, then the identity that is its subject.
type ChainLink struct {
	// Kind is ChainOutputRecord or ChainIdentity.
	Kind string `json:"kind"`
	// Digest is the manifest digest, computed from its bytes.
	Digest digest.Digest `json:"digest"`
	// Verified is true when every check of this manifest passed (content,
	// and signature when a key was given).
	Verified bool `json:"verified"`
	// Signatures is its signature check, when a key was given.
	Signatures *SignatureReport `json:"signatures,omitempty"`
}

// identitySignatures checks an identity's signature: IdentitySignatures,
// or Signatures.
func (o VerifyOptions) identitySignatures() SignatureVerifier {
	if o.IdentitySignatures != nil {
		return o.IdentitySignatures
	}
	return o.Signatures
}

// verifySignatureStep runs sv on subject and records its
// outcome in rep as "signature" checks whose subject starts with label:
// one passed check per signature that verifies, or the failures when none
// does. Signatures by other keys are listed in rep.Signatures only. It
// returns an error only when the signatures could not be read.
func verifySignatureStep(ctx context.Context, src oras.ReadOnlyTarget, rep *Report, subject ocispec.Descriptor, sv SignatureVerifier, label string) (*SignatureReport, error) {
	sr, err := sv.VerifySignatures(ctx, src, subject)
	var ve *VerificationError
	switch {
	case errors.As(err, &ve):
		for _, p := range ve.Problems {
			rep.fail(p.Check, labelled(label, p.Subject), p.Msg)
		}
	case err != nil:
		return nil, err
	default:
		for _, s := range sr.Signatures {
			if s.Verified {
				rep.pass("signature", labelled(label, s.Manifest.String()),
					fmt.Sprintf("%s-format signature verifies with key %s and names %s", s.Format, sr.KeyID, subject.Digest))
			}
		}
	}
	return sr, nil
}

func labelled(label, subject string) string {
	switch {
	case label == "":
		return subject
	case subject == "":
		return label
	}
	return label + " " + subject
}

// verifyChain verifies ref as a chain when it names an output record: the
// record (manifest, output document, output files, and its signature with
// opts.Signatures), then its subject identity (content, and its signature with
// opts.IdentitySignatures or opts.Signatures). ok is false when ref is not an output
// record (or cannot be resolved): Verify then verifies it as an identity.
func verifyChain(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts VerifyOptions) (rep *Report, ok bool, err error) {
	if opts.noChain {
		return nil, false, nil
	}
	o := opts.Options.withDefaults()
	res, rerr := Resolve(ctx, src, ref, o)
	if rerr != nil || res.Descriptor.ArtifactType != mediatype.OutputRecord {
		return nil, false, nil
	}
	const label = "output record"
	rep = newReport(ref)
	rep.Digest = res.Descriptor.Digest
	rep.pass("manifest-digest", labelled(label, ref), "the manifest bytes hash to "+res.Descriptor.Digest.String())
	recordOK := func() bool {
		for _, c := range rep.Checks {
			if !c.OK {
				return false
			}
		}
		return true
	}

	var m ocispec.Manifest
	if err := json.Unmarshal(res.ManifestBytes, &m); err != nil {
		rep.fail("manifest-json", label, err.Error())
		return rep, true, rep.err()
	}
	var rec *spec.OutputRecord
	cfg := m.Config
	switch {
	case cfg.Size > o.MaxMetadataSize:
		return nil, true, fmt.Errorf("%s: output document %w: %d bytes, the cap is %d", ref, ErrTooLarge, cfg.Size, o.MaxMetadataSize)
	case cfg.Size < 0 || cfg.Digest.Validate() != nil:
		rep.fail("config", labelled(label, "output document"), "invalid config descriptor")
	default:
		var buf memSink
		err := fetchVerified(ctx, src, plain(cfg), "output document", &buf, make([]byte, copyBufSize), o)
		var bp *blobProblem
		switch {
		case errors.As(err, &bp):
			rep.fail(bp.check, labelled(label, "output document"), bp.msg)
		case err != nil:
			return nil, true, err
		default:
			rec, err = spec.ParseOutputRecord(res.ManifestBytes, buf.Bytes())
			var re *spec.RecordError
			switch {
			case errors.As(err, &re):
				for _, p := range re.Problems {
					rep.fail(p.Check, labelled(label, p.Subject), p.Msg)
				}
			case err != nil:
				rep.fail("structure", label, err.Error())
			default:
				rep.pass("structure", label, fmt.Sprintf("output record of identity %s", rec.Document.Identity))
			}
		}
	}
	if rec != nil && !opts.noRecordBlobs {
		for _, l := range rec.Manifest.Layers {
			if l.MediaType == ocispec.MediaTypeEmptyJSON {
				continue
			}
			name := labelled(label, l.Annotations[mediatype.AnnotationTitle])
			err := fetchVerified(ctx, src, plain(l), name, discardSink{}, make([]byte, copyBufSize), o)
			var bp *blobProblem
			switch {
			case errors.As(err, &bp):
				rep.fail(bp.check, name, bp.msg)
			case err != nil:
				return nil, true, err
			default:
				rep.pass("blob-digest", name, l.Digest.String())
			}
		}
	}
	recLink := ChainLink{Kind: ChainOutputRecord, Digest: rep.Digest}
	if opts.Signatures != nil {
		sr, err := verifySignatureStep(ctx, src, rep, res.Descriptor, opts.Signatures, label)
		if err != nil {
			return nil, true, err
		}
		rep.Signatures, recLink.Signatures = sr, sr
	}
	recLink.Verified = recordOK()
	rep.Chain = append(rep.Chain, recLink)

	// The identity: its subject, verified in full.
	if m.Subject == nil || m.Subject.Digest.Validate() != nil {
		rep.fail("subject", label, "the output record has no valid subject: no identity to follow")
		return rep, true, rep.err()
	}
	idOpts := VerifyOptions{Options: opts.Options, Signatures: opts.identitySignatures(), noChain: true}
	idRep, err := Verify(ctx, src, m.Subject.Digest.String(), idOpts)
	if err != nil && !errors.Is(err, ErrVerification) {
		return nil, true, fmt.Errorf("%s: identity %s: %w", ref, m.Subject.Digest, err)
	}
	for _, c := range idRep.Checks {
		c.Subject = labelled("identity", c.Subject)
		rep.Checks = append(rep.Checks, c)
	}
	rep.Identity, rep.Record = idRep.Identity, rec
	rep.Chain = append(rep.Chain, ChainLink{Kind: ChainIdentity, Digest: idRep.Digest, Verified: idRep.Verified, Signatures: idRep.Signatures})
	if err := evaluatePolicy(ctx, src, rep, opts); err != nil {
		return nil, true, err
	}
	return rep, true, rep.err()
}
