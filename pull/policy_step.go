package pull

import (
	"context"
	"encoding/json"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull/policy"
	"github.com/runid/runid-oci/spec"
)

// PolicyInputOptions configure PolicyInput. The zero value is valid.
type PolicyInputOptions struct {
	Options
	// Input bounds the content placed in the input.
	Input policy.InputOptions
}

// PolicyInput builds the policy input document (spec/SPEC.md §13) of what
// ref names: an identity, or an output record and the identity that is its
// subject. The identity is checked structurally (Inspect) and each
// component whose content enters the input is fetched through its digest
// and size; signatures are not checked, so the input lists none (Verify
// with VerifyOptions.Policy evaluates with the verified ones).
func PolicyInput(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts PolicyInputOptions) (*policy.Input, error) {
	o := opts.Options.withDefaults()
	res, err := Resolve(ctx, src, ref, o)
	if err != nil {
		return nil, err
	}
	in := opts.Input
	idRef := ref
	if res.Descriptor.ArtifactType == mediatype.OutputRecord {
		rec, err := readOutputRecord(ctx, src, res, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		in.Output, in.OutputReference = rec, ref
		idRef = rec.Document.Identity.String()
	}
	id, err := Inspect(ctx, src, idRef, o)
	if err != nil {
		return nil, err
	}
	if in.Reference == "" {
		in.Reference = idRef
	}
	return policy.NewInput(ctx, src, id.Identity, in)
}

// readOutputRecord fetches the output document of a resolved output record
// (capped, verified) and parses the pair.
func readOutputRecord(ctx context.Context, src oras.ReadOnlyTarget, res Resolved, o Options) (*spec.OutputRecord, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(res.ManifestBytes, &m); err != nil {
		return nil, fmt.Errorf("output record manifest: %w", err)
	}
	if m.Config.Size > o.MaxMetadataSize {
		return nil, fmt.Errorf("output document %w: %d bytes, the cap is %d", ErrTooLarge, m.Config.Size, o.MaxMetadataSize)
	}
	var buf memSink
	if err := fetchVerified(ctx, src, plain(m.Config), "output document", &buf, make([]byte, copyBufSize), o); err != nil {
		return nil, err
	}
	return spec.ParseOutputRecord(res.ManifestBytes, buf.Bytes())
}

// evaluatePolicy runs opts.Policy on a verified report, after every other
// check: one "policy" check per denial message (or one passed check), and
// the decision in rep.Policy. An identity that does not verify is not
// evaluated: its content cannot be trusted, and it already fails. It
// returns an error only when the input could not be built.
func evaluatePolicy(ctx context.Context, src oras.ReadOnlyTarget, rep *Report, opts VerifyOptions) error {
	if opts.Policy == nil {
		return nil
	}
	for _, c := range rep.Checks {
		if !c.OK {
			return nil
		}
	}
	if rep.Identity == nil {
		return nil
	}
	in := opts.PolicyInput
	in.Reference = rep.Identity.Reference
	in.Signatures = verifiedSignatures(rep)
	if rep.Record != nil {
		in.Output, in.OutputReference = rep.Record, rep.Reference
	}
	input, err := policy.NewInput(ctx, src, rep.Identity.Identity, in)
	if err != nil {
		return fmt.Errorf("%s: policy input: %w", rep.Reference, err)
	}
	d := opts.Policy.Evaluate(ctx, input)
	rep.Policy = d
	if d.Allowed {
		rep.pass("policy", "", fmt.Sprintf("allowed by %d policy file(s)", len(d.Policies)))
		return nil
	}
	for _, msg := range d.Deny {
		rep.fail("policy", "", msg)
	}
	return nil
}

// verifiedSignatures lists the signatures of rep that verified, for the
// policy input: the identity's, and for a chain the output record's.
func verifiedSignatures(rep *Report) []policy.Signature {
	out := []policy.Signature{}
	add := func(sr *SignatureReport, signed string) {
		if sr == nil {
			return
		}
		for _, s := range sr.Signatures {
			if s.Verified {
				ps := policy.Signature{KeyID: sr.KeyID, Format: s.Format, Signed: signed, Digest: sr.Subject}
				if s.Signer != nil {
					ps.CertificateIdentity, ps.CertificateIssuer = s.Signer.Identity, s.Signer.Issuer
				}
				out = append(out, ps)
			}
		}
	}
	if len(rep.Chain) == 0 {
		add(rep.Signatures, policy.KindIdentity)
		return out
	}
	for _, l := range rep.Chain {
		switch l.Kind {
		case ChainOutputRecord:
			add(l.Signatures, policy.KindOutputRecord)
		case ChainIdentity:
			add(l.Signatures, policy.KindIdentity)
		}
	}
	return out
}
