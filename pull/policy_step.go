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
	d, err := EvaluatePolicy(ctx, src, rep, opts.Policy, opts.PolicyInput, verifiedSignatures(rep))
	if err != nil || d == nil {
		return err
	}
	rep.Policy = d
	rep.Checks = append(rep.Checks, PolicyChecks(d)...)
	return nil
}

// EvaluatePolicy evaluates pol on what rep (a report of Verify) verified,
// with the input Verify builds for VerifyOptions.Policy: the identity (and
// for a chain the output record) of rep, its content bounded by in, and
// signatures as the verified signatures. It does not look at rep's checks:
// a caller evaluates only a report whose checks all passed. It returns a
// nil decision when rep holds no identity, and an error only when the input
// could not be built.
func EvaluatePolicy(ctx context.Context, src oras.ReadOnlyTarget, rep *Report, pol *policy.Policy, in policy.InputOptions, signatures []policy.Signature) (*policy.Decision, error) {
	if rep.Identity == nil {
		return nil, nil
	}
	in.Reference = rep.Identity.Reference
	in.Signatures = signatures
	if in.Signatures == nil {
		in.Signatures = []policy.Signature{}
	}
	if rep.Record != nil {
		in.Output, in.OutputReference = rep.Record, rep.Reference
	}
	input, err := policy.NewInput(ctx, src, rep.Identity.Identity, in)
	if err != nil {
		return nil, fmt.Errorf("%s: policy input: %w", rep.Reference, err)
	}
	return pol.Evaluate(ctx, input), nil
}

// PolicyChecks are the "policy" checks of a decision, as Verify reports
// them: one passed check when it allows, one failed check per denial.
func PolicyChecks(d *policy.Decision) []Check {
	if d.Allowed {
		return []Check{{Check: "policy", OK: true, Message: fmt.Sprintf("allowed by %d policy file(s)", len(d.Policies))}}
	}
	out := make([]Check, 0, len(d.Deny))
	for _, msg := range d.Deny {
		out = append(out, Check{Check: "policy", Message: msg})
	}
	return out
}

// PolicySignatures lists the signatures of sr that verified, as the policy
// input lists them; signed is policy.KindIdentity or
// policy.KindOutputRecord, what sr's subject is.
func PolicySignatures(sr *SignatureReport, signed string) []policy.Signature {
	var out []policy.Signature
	if sr == nil {
		return out
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
	return out
}

// verifiedSignatures lists the signatures of rep that verified, for the
// policy input: the identity's, and for a chain the output record's.
func verifiedSignatures(rep *Report) []policy.Signature {
	out := []policy.Signature{}
	if len(rep.Chain) == 0 {
		return append(out, PolicySignatures(rep.Signatures, policy.KindIdentity)...)
	}
	for _, l := range rep.Chain {
		switch l.Kind {
		case ChainOutputRecord:
			out = append(out, PolicySignatures(l.Signatures, policy.KindOutputRecord)...)
		case ChainIdentity:
			out = append(out, PolicySignatures(l.Signatures, policy.KindIdentity)...)
		}
	}
	return out
}
