// Package report renders the auditor's view of a run: one self-contained
// HTML file (inline CSS and SVG, no script, no request to any network) that
// shows the verdict, the composition role by role with its disclosed
// content, the proofs (signatures, the chain from output records to the
// identity, links), the referrer graph as a drawing, the differences with
// another run, and the commands with which a reader re-checks each claim.
//
// Collect gathers a Report from a store with the pull packages (Verify,
// Discover, diff.Compare) and reads the disclosed content it shows; Render
// writes it. Signatures are checked through the pull.SignatureVerifier
// interface (pull/sigverify implements it with cosign public keys), so
// that this package does not depend on the signing libraries.
//
// A report holds no credential and no withheld byte: withheld components
// are shown as their commitments, and a disclosed line or JSON value that
// looks like a credential is replaced by a note. For the same inputs the
// HTML is the same bytes, apart from the one line that says when it was
// generated.
package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/diff"
	"github.com/runid/runid-oci/pull/policy"
	"github.com/runid/runid-oci/spec"
)

// Defaults of Options.
const (
	// DefaultMaxContentSize is the largest component whose content a
	// report shows; larger ones are shown by size and digest.
	DefaultMaxContentSize = 256 << 10
	// DefaultMaxTotalContent bounds the content shown in one report, so
	// that a report of a large identity stays small enough to open.
	DefaultMaxTotalContent = 8 << 20
	// DefaultPageSize is how many components of one role a page (a
	// foldable section) holds.
	DefaultPageSize = 200
	// DefaultMaxGraphNodes is how many nodes of the referrer graph are
	// drawn; every node is listed in the graph's table.
	DefaultMaxGraphNodes = 60
)

// Location says where the reported identity is stored, so that the
// re-check commands name it as a reader would type it.
type Location struct {
	// Display is the store: "registry.example/runs", or the path of an OCI
	// image layout directory or tar file.
	Display string
	// Layout is true for an OCI image layout directory or tar file.
	Layout bool
	// Tar is true for an OCI image layout tar file.
	Tar bool
	// PlainHTTP is true for a registry reached over plain HTTP.
	PlainHTTP bool
}

// Key names a public key that signatures were checked against.
type Key struct {
	// Name is how the reader knows it: the file name as given.
	Name string `json:"name"`
	// KeyID is "sha256:" and the hex SHA-256 of the key's DER encoding.
	KeyID string `json:"keyID"`
}

// Signature is one signature examined, as the signature checker reports
// it.
type Signature = pull.SignatureCheck

// SignatureSet is the signature check of one manifest with one key.
type SignatureSet struct {
	// Subject is the signed manifest's digest.
	Subject digest.Digest `json:"subject"`
	// Key is the key checked against.
	Key Key `json:"key"`
	// Signatures lists every signature examined.
	Signatures []Signature `json:"signatures"`
}

// Verified reports whether at least one signature verifies.
func (s SignatureSet) Verified() bool {
	return slices.ContainsFunc(s.Signatures, func(g Signature) bool { return g.Verified })
}

// KeyCheck is a key that signatures are checked against.
type KeyCheck struct {
	// Name is how the reader knows the key: the file name as given.
	Name string
	// Verifier checks signatures with the key (sigverify.Verifier).
	Verifier pull.SignatureVerifier
}

// Options configure Collect. The zero value is valid: a report of the
// content checks, the composition and the graph.
type Options struct {
	// Options configure reading (metadata cap, concurrency, logger).
	pull.Options
	// Name is how the report names the reference (Report.Reference and
	// side A of a comparison), e.g. the full TARGET a user typed.
	// Default: ref.
	Name string
	// Location names the store in the re-check commands.
	Location Location
	// Keys are the keys the signatures of the identity (and of the output
	// record, when the reference names one) are checked against: each key
	// must have a signature that verifies on each of them. Default: none,
	// signatures are not checked.
	Keys []KeyCheck
	// Policy, if set, is evaluated as runid-oci verify --policy evaluates
	// it (pull.EvaluatePolicy), after every other check passed, signatures
	// included: on the policy input of the identity (for an output record,
	// of the record and its identity) listing the signatures that verified
	// with Keys. Each denial is a failed "policy" check.
	Policy *policy.Policy
	// PolicyInput bounds the content of the policy input.
	PolicyInput policy.InputOptions
	// Against, if set, is the other run: the report then shows the
	// differences between it (side B) and the reported identity (side A).
	Against *diff.Side
	// Compare configures the comparison with Against.
	Compare diff.CompareOptions
	// Discover configures the referrer graph.
	Discover pull.DiscoverOptions
	// PageSize is how many components of a role one foldable page holds.
	// The first page shows each component with its content; the others
	// list the components without content, which is not read.
	// Default: DefaultPageSize.
	PageSize int
	// MaxContentSize is the largest component whose content is shown.
	// Default: DefaultMaxContentSize.
	MaxContentSize int64
	// MaxTotalContent bounds the content shown in all. Default:
	// DefaultMaxTotalContent.
	MaxTotalContent int64
	// Now is the generation time shown. Default: time.Now.
	Now func() time.Time
	// Version names the tool in the report's footer.
	Version string
}

func (o Options) withDefaults() Options {
	if o.MaxContentSize <= 0 {
		o.MaxContentSize = DefaultMaxContentSize
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.MaxTotalContent <= 0 {
		o.MaxTotalContent = DefaultMaxTotalContent
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Report is everything a rendered report shows. Collect fills it; it is
// plain data, so a caller may also build or amend one.
type Report struct {
	// Reference is the reported reference as given.
	Reference string
	// Location is the store.
	Location Location
	// Digest is the digest of the manifest Reference names (the identity,
	// or the output record of a chain).
	Digest digest.Digest
	// IdentityDigest is the identity's digest.
	IdentityDigest digest.Digest
	// Verified is true when every check passed, signatures included.
	Verified bool
	// Keys are the keys signatures were checked against.
	Keys []Key
	// Checks lists every check run, in order.
	Checks []pull.Check
	// SpecVersion is the identity document's spec version.
	SpecVersion string
	// Roles is the composition, in canonical role order.
	Roles []Role
	// PageSize is Options.PageSize.
	PageSize int
	// Components counts the components of all roles.
	Components int
	// ContentOmitted counts components whose content was not shown because
	// MaxTotalContent was reached.
	ContentOmitted int
	// Signatures lists the signature checks, one per manifest and key.
	Signatures []SignatureSet
	// Policies lists the policy files given, or none.
	Policies []string
	// Policy is the decision of the policies, or nil when none was given
	// or they were not evaluated (PolicySkipped says why).
	Policy *policy.Decision
	// PolicySkipped says why the policies given were not evaluated.
	PolicySkipped string
	// Chain lists the manifests of a chain (an output record, then its
	// identity); empty when Reference names an identity.
	Chain []ChainStep
	// Graph is the referrer graph of the identity, or nil.
	Graph *pull.Tree
	// GraphError says why the graph could not be listed.
	GraphError string
	// Comparison is the comparison with Options.Against, or nil.
	Comparison *diff.Comparison
	// AgainstError says why the comparison could not be made.
	AgainstError string
	// Generated is when the report was made.
	Generated time.Time
	// Version names the tool.
	Version string
}

// ChainStep is one manifest of a verified chain.
type ChainStep struct {
	// Kind is pull.ChainOutputRecord or pull.ChainIdentity.
	Kind string
	// Digest is the manifest's digest.
	Digest digest.Digest
	// Verified is true when every check of this manifest passed.
	Verified bool
}

// Role is one role of the composition.
type Role struct {
	Name string
	// State is present, none or withheld.
	State string
	// Extension is true for a reverse-DNS extension role.
	Extension  bool
	Components []Component
}

// Component is one component of a role.
type Component struct {
	// Index is its position in the identity document, from 0.
	Index     int
	Role      string
	Name      string
	MediaType string
	// Format is json, yaml, text or binary.
	Format string
	Size   int64
	Digest digest.Digest
	// Commitment is the commitment of a withheld component.
	Commitment *spec.Commitment
	// Content is what is shown of a disclosed component.
	Content Content
}

// Withheld reports whether the component is a commitment.
func (c Component) Withheld() bool { return c.MediaType == mediatype.Withheld }

// Failed returns the checks that failed.
func (r *Report) Failed() []pull.Check {
	var out []pull.Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Collect verifies the manifest that ref names in src (an identity, or an
// output record and the identity it names) with pull.Verify, checks its
// signatures with opts.Signatures, lists its referrer graph with
// pull.Discover, compares it with opts.Against, and reads the disclosed
// content to show (each blob checked against its digest).
//
// A reference that was read but does not verify still gives a report,
// whose Verified is false and whose Checks say why, with a nil error. An
// error means the report could not be made: the reference could not be
// resolved or read (network, authentication, not found, over a cap).
func Collect(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts Options) (*Report, error) {
	o := opts.withDefaults()
	rep := &Report{Reference: cmp.Or(o.Name, ref), Location: o.Location, Version: o.Version, PageSize: o.PageSize}
	vr, err := pull.Verify(ctx, src, ref, pull.VerifyOptions{Options: o.Options})
	if err != nil && !errors.Is(err, pull.ErrVerification) {
		return nil, err
	}
	if vr == nil {
		return nil, fmt.Errorf("verify %s: %w", ref, err)
	}
	rep.Digest, rep.Checks, rep.IdentityDigest = vr.Digest, vr.Checks, vr.Digest
	for _, l := range vr.Chain {
		rep.Chain = append(rep.Chain, ChainStep{Kind: l.Kind, Digest: l.Digest, Verified: l.Verified})
		if l.Kind == pull.ChainIdentity {
			rep.IdentityDigest = l.Digest
		}
	}
	id := vr.Identity
	if id != nil {
		rep.IdentityDigest = id.Descriptor.Digest
		rep.SpecVersion = id.Document.SpecVersion
		var budget = o.MaxTotalContent
		rep.Roles, rep.ContentOmitted = composition(ctx, src, id, o, &budget)
		rep.Components = len(id.Document.Components)
	}

	var signed []policy.Signature
	if len(o.Keys) > 0 {
		if signed, err = rep.checkSignatures(ctx, src, o, id); err != nil {
			return nil, err
		}
	}
	if o.Policy != nil {
		if err := rep.evaluatePolicy(ctx, src, vr, o, signed); err != nil {
			return nil, err
		}
	}

	if rep.IdentityDigest != "" {
		tree, err := pull.Discover(ctx, src, rep.IdentityDigest.String(), o.discoverOptions())
		switch {
		case err == nil:
			rep.Graph = tree
		case errors.Is(err, pull.ErrReferrers):
			rep.GraphError = err.Error()
		default:
			return nil, err
		}
	}

	if o.Against != nil && rep.IdentityDigest != "" {
		co := o.Compare
		if co.Logger == nil {
			co.Options = o.Options
		}
		co.All = true
		c, err := diff.Compare(ctx, diff.IdentitySide(src, rep.IdentityDigest.String()), *o.Against, co)
		if err != nil {
			var se *diff.SideError
			if !errors.As(err, &se) {
				return nil, err
			}
			rep.AgainstError = err.Error()
		}
		rep.Comparison = c
		if c != nil {
			c.A.Reference = rep.Reference
		}
	}

	rep.Verified = len(rep.Checks) > 0 && len(rep.Failed()) == 0
	rep.Generated = o.Now().UTC().Truncate(time.Second)
	return rep, nil
}

func (o Options) discoverOptions() pull.DiscoverOptions {
	d := o.Discover
	if d.Logger == nil {
		d.Logger = o.Logger
	}
	if d.MaxMetadataSize == 0 {
		d.MaxMetadataSize = o.MaxMetadataSize
	}
	return d
}

// evaluatePolicy evaluates o.Policy on vr, the verification of the
// report, when every check passed, with the signatures that verified.
func (r *Report) evaluatePolicy(ctx context.Context, src oras.ReadOnlyTarget, vr *pull.Report, o Options, signed []policy.Signature) error {
	r.Policies = o.Policy.Files()
	if failed := len(r.Failed()); failed > 0 {
		r.PolicySkipped = fmt.Sprintf("not evaluated: %d other check(s) failed, so the content cannot be trusted", failed)
		return nil
	}
	d, err := pull.EvaluatePolicy(ctx, src, vr, o.Policy, o.PolicyInput, signed)
	if err != nil {
		return err
	}
	if d == nil {
		r.PolicySkipped = "not evaluated: no identity was read"
		return nil
	}
	r.Policy = d
	r.Checks = append(r.Checks, pull.PolicyChecks(d)...)
	return nil
}

// checkSignatures runs the signature checker on each manifest of the
// report (the record of a chain, then the identity) and records a
// "signature" check per key. It returns the signatures that verified, as
// the policy input lists them.
func (r *Report) checkSignatures(ctx context.Context, src oras.ReadOnlyTarget, o Options, id *pull.Identity) ([]policy.Signature, error) {
	type subject struct {
		label string
		kind  string // what the policy input says was signed
		desc  ocispec.Descriptor
	}
	var signed []policy.Signature
	var subjects []subject
	for _, l := range r.Chain {
		if l.Kind == pull.ChainOutputRecord {
			res, err := pull.Resolve(ctx, src, l.Digest.String(), o.Options)
			if err != nil {
				return nil, err
			}
			subjects = append(subjects, subject{"output record", policy.KindOutputRecord, res.Descriptor})
		}
	}
	if id != nil {
		subjects = append(subjects, subject{"identity", policy.KindIdentity, id.Descriptor})
	}
	for _, k := range o.Keys {
		key := Key{Name: k.Name}
		for _, s := range subjects {
			sr, err := k.Verifier.VerifySignatures(ctx, src, s.desc)
			if sr == nil {
				if err == nil || !errors.Is(err, pull.ErrVerification) {
					return nil, fmt.Errorf("signatures of %s %s: %w", s.label, s.desc.Digest, err)
				}
				sr = &pull.SignatureReport{Subject: s.desc.Digest}
			}
			signed = append(signed, pull.PolicySignatures(sr, s.kind)...)
			if sr.KeyID != "" {
				key.KeyID = sr.KeyID
			}
			set := SignatureSet{Subject: s.desc.Digest, Key: key}
			set.Signatures = append(set.Signatures, sr.Signatures...)
			r.Signatures = append(r.Signatures, set)
			subj := s.label + " " + string(s.desc.Digest) + " key " + k.Name
			switch {
			case set.Verified():
				r.Checks = append(r.Checks, pull.Check{Check: "signature", Subject: subj, OK: true,
					Message: fmt.Sprintf("%d of %d signature(s) verify with %s", countVerified(set), len(set.Signatures), key.KeyID)})
			case len(set.Signatures) == 0:
				r.Checks = append(r.Checks, pull.Check{Check: "signature", Subject: subj, Message: "no signature found"})
			default:
				r.Checks = append(r.Checks, pull.Check{Check: "signature", Subject: subj,
					Message: fmt.Sprintf("none of %d signature(s) verifies with %s", len(set.Signatures), key.KeyID)})
			}
		}
		for j := range r.Signatures {
			if r.Signatures[j].Key.Name == k.Name && r.Signatures[j].Key.KeyID == "" {
				r.Signatures[j].Key.KeyID = key.KeyID
			}
		}
		r.Keys = append(r.Keys, key)
	}
	return signed, nil
}

func countVerified(s SignatureSet) int {
	n := 0
	for _, g := range s.Signatures {
		if g.Verified {
			n++
		}
	}
	return n
}

// composition lists the roles in canonical order with their components,
// reading the content to show within *budget bytes.
func composition(ctx context.Context, src oras.ReadOnlyTarget, id *pull.Identity, o Options, budget *int64) ([]Role, int) {
	doc := id.Document
	names := make([]string, 0, len(doc.Roles))
	for r := range doc.Roles {
		names = append(names, r)
	}
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case spec.RoleOrderLess(a, b):
			return -1
		case spec.RoleOrderLess(b, a):
			return 1
		}
		return cmp.Compare(a, b)
	})
	byRole := map[string][]Component{}
	omitted := 0
	for i, e := range doc.Components {
		listed := len(byRole[e.Role]) >= o.PageSize
		c := Component{Index: i, Role: e.Role, Name: e.Name, MediaType: e.MediaType, Size: e.Size, Digest: e.Digest}
		if _, f, ok := mediatype.ParseComponent(e.MediaType); ok {
			c.Format = f
		}
		switch {
		case listed:
			c.Content = Content{Kind: KindListed}
		case c.Withheld():
			c.Commitment, c.Content = commitment(ctx, src, e, o)
		default:
			c.Content = readContent(ctx, src, e, c.Format, o, budget)
			if c.Content.Kind == KindOmitted {
				omitted++
			}
		}
		byRole[e.Role] = append(byRole[e.Role], c)
	}
	roles := make([]Role, 0, len(names))
	for _, n := range names {
		roles = append(roles, Role{Name: n, State: doc.Roles[n], Extension: spec.IsExtensionRole(n), Components: byRole[n]})
	}
	return roles, omitted
}
