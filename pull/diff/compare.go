package diff

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// DefaultMaxDiffSize is the default cap on the size of a component whose
// content is compared (as text or by JSON path), on each side: 4 MiB.
// Beyond it a component is reported as changed, too large to diff, with
// both digests and sizes.
const DefaultMaxDiffSize int64 = 4 << 20

// DefaultMaxPaths is the default cap on the path changes listed for one
// structured component; the rest are counted in PathsOmitted.
const DefaultMaxPaths = 1000

// DefaultContextLines is the default number of context lines around each
// hunk of a text diff.
const DefaultContextLines = 3

// Changes of a component between two sides (ComponentDiff.Change) and of a
// path in a structured component (PathChange.Change).
const (
	// ChangeAdded: only B has it.
	ChangeAdded = "added"
	// ChangeRemoved: only A has it.
	ChangeRemoved = "removed"
	// ChangeChanged: both have it with other bytes or another media type.
	ChangeChanged = "changed"
	// ChangeMoved: both have the same bytes, at another place in the role.
	ChangeMoved = "moved"
	// ChangeUnchanged: both have the same bytes at the same place (listed
	// only with CompareOptions.All).
	ChangeUnchanged = "unchanged"
)

// Kinds of component comparison (ComponentDiff.Kind).
const (
	// KindText: text compared line by line (a unified diff).
	KindText = "text"
	// KindStructured: JSON or YAML compared by path.
	KindStructured = "structured"
	// KindBinary: bytes compared by digest and size only.
	KindBinary = "binary"
	// KindWithheld: at least one side is a commitment; its content is not
	// visible, only commitments are compared.
	KindWithheld = "withheld"
)

// StateAbsent is the role state (RoleDiff.StateA, StateB) of a role that a
// side does not declare at all (an extension role only the other side has).
const StateAbsent = "absent"

// Side is one side of a comparison: an identity in a store, or a
// declaration. Set Store (and Reference), or Declaration, not both.
type Side struct {
	// Store holds the identity that Reference (a tag or a digest) names.
	Store oras.ReadOnlyTarget
	// Reference is the tag or digest of the identity in Store.
	Reference string
	// Declaration is the path of a declaration (runid.yaml); its
	// composition is built from its local files with pack.Load.
	Declaration string
	// Name is how the side is named in the result and in errors.
	// Default: Reference, or Declaration.
	Name string
}

// IdentitySide is the side for the identity ref in store.
func IdentitySide(store oras.ReadOnlyTarget, ref string) Side {
	return Side{Store: store, Reference: ref}
}

// DeclarationSide is the side for the declaration at path.
func DeclarationSide(path string) Side { return Side{Declaration: path} }

func (s Side) name() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Store != nil:
		return s.Reference
	}
	return s.Declaration
}

// CompareOptions configure Compare. The zero value is valid.
type CompareOptions struct {
	// Options configure reading identity sides (metadata cap,
	// concurrency, logger).
	pull.Options
	// Build configures building declaration sides.
	Build pack.BuildOptions
	// MaxDiffSize caps each component compared by content, in bytes.
	// Default: DefaultMaxDiffSize.
	MaxDiffSize int64
	// ContextLines is the number of context lines of text diffs; negative
	// means none. Default (0): DefaultContextLines.
	ContextLines int
	// MaxPaths caps the path changes listed per structured component.
	// Default: DefaultMaxPaths.
	MaxPaths int
	// All lists every role and component, unchanged ones included.
	// Default: only roles and components that differ.
	All bool
}

func (o CompareOptions) withDefaults() CompareOptions {
	if o.MaxDiffSize <= 0 {
		o.MaxDiffSize = DefaultMaxDiffSize
	}
	switch {
	case o.ContextLines == 0:
		o.ContextLines = DefaultContextLines
	case o.ContextLines < 0:
		o.ContextLines = 0
	}
	if o.MaxPaths <= 0 {
		o.MaxPaths = DefaultMaxPaths
	}
	return o
}

// Comparison is the result of Compare: what differs between the
// compositions of two runs, role by role. Its JSON form is stable.
type Comparison struct {
	// Identical is true when both sides have the same identity digest.
	Identical bool `json:"identical"`
	// A and B describe the two sides.
	A SideInfo `json:"a"`
	B SideInfo `json:"b"`
	// Roles lists the roles that differ (every role with
	// CompareOptions.All), in canonical role order.
	Roles []RoleDiff `json:"roles"`
}

// SideInfo describes one side of a Comparison.
type SideInfo struct {
	// Reference is the side's name (Side.Name, or its reference or path).
	Reference string `json:"reference"`
	// Digest is the identity digest: computed from the manifest bytes, or
	// built from the declaration.
	Digest digest.Digest `json:"digest"`
	// Kind is "identity" or "declaration".
	Kind string `json:"kind"`
}

// RoleDiff is one role of a Comparison.
type RoleDiff struct {
	Role string `json:"role"`
	// StateA and StateB are the role's states (present, none, withheld)
	// or StateAbsent.
	StateA string `json:"stateA"`
	StateB string `json:"stateB"`
	// Reordered is true when components both sides have are in another
	// order (order is significant, in context and input notably).
	Reordered bool `json:"reordered,omitempty"`
	// Components lists the components that differ (all with
	// CompareOptions.All) in a merged order: B's, with removed components
	// where A had them.
	Components []ComponentDiff `json:"components"`
}

// ComponentDiff is one component of a role, paired by logical name.
type ComponentDiff struct {
	Name string `json:"name"`
	// Change is ChangeAdded, ChangeRemoved, ChangeChanged, ChangeMoved or
	// ChangeUnchanged.
	Change string `json:"change"`
	// Kind says how content was compared: KindText, KindStructured,
	// KindBinary or KindWithheld.
	Kind string `json:"kind"`
	// Moved is set on a changed component that is also at another place.
	Moved bool `json:"moved,omitempty"`
	// A and B are the component on each side (nil on the side that lacks it).
	A *ComponentVersion `json:"a,omitempty"`
	B *ComponentVersion `json:"b,omitempty"`
	// Note explains what could not be compared or what else differs, e.g.
	// "withheld: commitments match, content not visible".
	Note string `json:"note,omitempty"`
	// TooLarge is set when a side is over CompareOptions.MaxDiffSize: the
	// component is changed and its content was not compared.
	TooLarge bool `json:"tooLarge,omitempty"`
	// TextDiff is the unified diff of a changed text component, with
	// "a/NAME" and "b/NAME" headers.
	TextDiff string `json:"textDiff,omitempty"`
	// LinesAdded and LinesRemoved count the lines of TextDiff.
	LinesAdded   int `json:"linesAdded,omitempty"`
	LinesRemoved int `json:"linesRemoved,omitempty"`
	// Label is the root of Paths: the role ("parameters") when the role
	// has this one component, else "role[label]" where label is the
	// logical name; in the tools role, always "tools[label]" where label is
	// the tool's function.name or name when it has one.
	Label string `json:"label,omitempty"`
	// Paths lists what changed in a structured component, by path.
	Paths []PathChange `json:"paths,omitempty"`
	// PathsOmitted counts the path changes beyond CompareOptions.MaxPaths.
	PathsOmitted int `json:"pathsOmitted,omitempty"`
}

// ComponentVersion is a component on one side.
type ComponentVersion struct {
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	MediaType string        `json:"mediaType"`
	// Index is the component's position in its role, from 0.
	Index int `json:"index"`
}

// PathChange is one change in a structured component. Path starts at the
// component's Label, then .key (or ["key"] for keys that are not
// identifiers) and [index]; indexes are B's, except for removed elements.
// From and To are JSON values: From is absent for an addition, To for a
// removal.
type PathChange struct {
	Path   string          `json:"path"`
	Change string          `json:"change"`
	From   json.RawMessage `json:"from,omitempty"`
	To     json.RawMessage `json:"to,omitempty"`
}

// SideError reports that one side of a comparison could not be read,
// built or verified. It wraps the cause: a *VerificationError (errors.Is
// ErrVerification) when the side was read but does not verify.
type SideError struct {
	// Side is "A" or "B".
	Side string
	// Name is the side's name.
	Name string
	// Err is the cause.
	Err error
}

func (e *SideError) Error() string { return fmt.Sprintf("%s (%s): %v", e.Side, e.Name, e.Err) }

// Unwrap returns the cause.
func (e *SideError) Unwrap() error { return e.Err }

// Compare compares the compositions of two runs, a and b, each an identity
// in a store or a declaration. Both sides are fully verified first: an
// identity as Verify does (manifest digest, every structural rule, every
// blob hashed), a declaration by building it. Components are paired by
// logical name within each role and reported added, removed, moved
// (another place in the role) or changed:
//
//   - text: a unified diff;
//   - json or yaml: the changes by path ("parameters.temperature"), from
//     and to (and a text diff when only comments or layout differ);
//   - binary: both digests and sizes;
//   - withheld: unchanged only when both commitments are the same blob;
//     the content is never visible.
//
// Content is read by digest and at most once per digest, whichever side
// has it; an identity's blobs are kept while they are verified, so a
// component is never fetched twice, and two identity sides in the same
// Store (the same value) fetch a blob they share once. Only changed
// components of at most opts.MaxDiffSize bytes are held in memory.
//
// A side that cannot be read, built or verified fails the comparison with
// a *SideError naming it; its cause is a *VerificationError when the side
// was read but does not verify.
func Compare(ctx context.Context, a, b Side, opts CompareOptions) (*Comparison, error) {
	o := opts.withDefaults()
	c := newComparer(o)
	sa, err := c.open(ctx, "A", a)
	if err != nil {
		return nil, err
	}
	sb, err := c.open(ctx, "B", b)
	if err != nil {
		return nil, err
	}
	plan := planComparison(sa, sb, o)
	c.want(plan)
	for _, s := range []*side{sa, sb} {
		if err := c.verify(ctx, s); err != nil {
			return nil, err
		}
	}
	return c.compare(ctx, sa, sb, plan)
}

// side is one opened side.
type side struct {
	label, name string
	info        SideInfo
	roles       map[string]string
	comps       []spec.ComponentEntry
	// Identity sides.
	store oras.ReadOnlyTarget
	id    *pull.Identity
	rep   *pull.Report
	// Declaration sides: components by digest.
	decl map[digest.Digest]pack.Component
}

// byRole returns the side's components of role, in order.
func (s *side) byRole(role string) []spec.ComponentEntry {
	var out []spec.ComponentEntry
	for _, c := range s.comps {
		if c.Role == role {
			out = append(out, c)
		}
	}
	return out
}

func (s *side) state(role string) string {
	if st, ok := s.roles[role]; ok {
		return st
	}
	return StateAbsent
}

// open resolves and structurally checks an identity side, or builds a
// declaration side. Blobs are verified later, by verify.
func (c *comparer) open(ctx context.Context, label string, in Side) (*side, error) {
	s := &side{label: label, name: in.name()}
	fail := func(err error) error { return &SideError{Side: label, Name: s.name, Err: err} }
	switch {
	case in.Store != nil && in.Declaration != "":
		return nil, fail(fmt.Errorf("%w: both a store and a declaration", ErrInvalidSide))
	case in.Store != nil:
		s.store = in.Store
		id, rep, err := pull.CheckIdentity(ctx, in.Store, in.Reference, c.opts.Options)
		s.rep = rep
		if err != nil {
			return nil, fail(err)
		}
		s.id = id
		s.info = SideInfo{Reference: s.name, Digest: id.Descriptor.Digest, Kind: "identity"}
		s.roles, s.comps = id.Document.Roles, id.Document.Components
	case in.Declaration != "":
		comp, err := pack.Load(ctx, in.Declaration, c.opts.Build)
		if err != nil {
			return nil, fail(err)
		}
		s.decl = make(map[digest.Digest]pack.Component, len(comp.Components))
		for _, pc := range comp.Components {
			s.decl[pc.Digest] = pc
		}
		s.info = SideInfo{Reference: s.name, Digest: comp.Digest(), Kind: "declaration"}
		s.roles, s.comps = comp.Identity.Document.Roles, comp.Identity.Document.Components
	default:
		return nil, fail(fmt.Errorf("%w: neither a store nor a declaration", ErrInvalidSide))
	}
	return s, nil
}

// pairPlan is one aligned component of a role with how it is compared.
type pairPlan struct {
	alignedComponent
	kind string
	// content is set when both sides' bytes are needed (a changed text or
	// structured component within the cap, or two different commitments).
	content  bool
	tooLarge bool
}

// rolePlan is one role of the comparison.
type rolePlan struct {
	role           string
	stateA, stateB string
	pairs          []pairPlan
	single         bool // each side has at most one component in the role
}

// planComparison pairs the components of every role and decides, from the
// identity documents alone, which contents are needed.
func planComparison(a, b *side, o CompareOptions) []rolePlan {
	var roles []string
	for r := range a.roles {
		roles = append(roles, r)
	}
	for r := range b.roles {
		if _, ok := a.roles[r]; !ok {
			roles = append(roles, r)
		}
	}
	slices.SortFunc(roles, func(x, y string) int {
		switch {
		case spec.RoleOrderLess(x, y):
			return -1
		case spec.RoleOrderLess(y, x):
			return 1
		}
		return 0
	})
	var out []rolePlan
	for _, r := range roles {
		ca, cb := a.byRole(r), b.byRole(r)
		rp := rolePlan{role: r, stateA: a.state(r), stateB: b.state(r), single: len(ca) <= 1 && len(cb) <= 1}
		for _, al := range alignComponents(ca, cb) {
			p := pairPlan{alignedComponent: al, kind: pairKind(al.a, al.b)}
			if al.a != nil && al.b != nil && !sameContent(*al.a, *al.b) {
				switch p.kind {
				case KindText, KindStructured:
					if al.a.Size > o.MaxDiffSize || al.b.Size > o.MaxDiffSize {
						p.tooLarge = true
					} else {
						p.content = al.a.Digest != al.b.Digest
					}
				case KindWithheld:
					p.content = al.a.Withheld() && al.b.Withheld() &&
						al.a.Size <= pull.MaxCommitmentSize && al.b.Size <= pull.MaxCommitmentSize
				}
			}
			rp.pairs = append(rp.pairs, p)
		}
		out = append(out, rp)
	}
	return out
}

// sameContent reports whether two entries have the same bytes and type.
func sameContent(a, b spec.ComponentEntry) bool {
	return a.Digest == b.Digest && a.Size == b.Size && a.MediaType == b.MediaType
}

// format returns the format of a disclosed entry's media type, or "".
func format(e *spec.ComponentEntry) string {
	if e == nil {
		return ""
	}
	_, f, _ := mediatype.ParseComponent(e.MediaType)
	return f
}

// pairKind says how a pair is compared: withheld when either side is,
// structured when both are json or yaml, text when both are text, json or
// yaml, else binary.
func pairKind(a, b *spec.ComponentEntry) string {
	if (a != nil && a.Withheld()) || (b != nil && b.Withheld()) {
		return KindWithheld
	}
	fa, fb := format(a), format(b)
	if a == nil {
		fa = fb
	}
	if b == nil {
		fb = fa
	}
	structured := func(f string) bool { return f == mediatype.FormatJSON || f == mediatype.FormatYAML }
	switch {
	case structured(fa) && structured(fb):
		return KindStructured
	case (structured(fa) || fa == mediatype.FormatText) && (structured(fb) || fb == mediatype.FormatText):
		return KindText
	}
	return KindBinary
}

// compare builds the Comparison from the plan, reading the contents it
// needs.
func (c *comparer) compare(ctx context.Context, a, b *side, plan []rolePlan) (*Comparison, error) {
	out := &Comparison{Identical: a.info.Digest == b.info.Digest, A: a.info, B: b.info, Roles: []RoleDiff{}}
	movedTo, movedFrom := crossRoleMoves(plan)
	for _, rp := range plan {
		rd := RoleDiff{Role: rp.role, StateA: rp.stateA, StateB: rp.stateB, Components: []ComponentDiff{}}
		for _, p := range rp.pairs {
			rd.Reordered = rd.Reordered || p.moved
			d, err := c.comparePair(ctx, a, b, rp, p)
			if err != nil {
				return nil, err
			}
			switch {
			case d.Change == ChangeRemoved && movedTo[d.Name] != "":
				d.Note = "now in role " + movedTo[d.Name]
			case d.Change == ChangeAdded && movedFrom[d.Name] != "":
				d.Note = "was in role " + movedFrom[d.Name]
			}
			if c.opts.All || d.Change != ChangeUnchanged {
				rd.Components = append(rd.Components, d)
			}
		}
		if c.opts.All || len(rd.Components) > 0 || rd.StateA != rd.StateB {
			out.Roles = append(out.Roles, rd)
		}
	}
	return out, nil
}

// crossRoleMoves finds names removed from one role and added to another:
// name → the role B has it in, and name → the role A had it in.
func crossRoleMoves(plan []rolePlan) (to, from map[string]string) {
	removed, added := map[string]string{}, map[string]string{}
	for _, rp := range plan {
		for _, p := range rp.pairs {
			switch {
			case p.b == nil:
				removed[p.a.Name] = rp.role
			case p.a == nil:
				added[p.b.Name] = rp.role
			}
		}
	}
	to, from = map[string]string{}, map[string]string{}
	for n, r := range removed {
		if r2, ok := added[n]; ok {
			to[n], from[n] = r2, r
		}
	}
	return to, from
}

func version(e *spec.ComponentEntry, index int) *ComponentVersion {
	if e == nil {
		return nil
	}
	return &ComponentVersion{Digest: e.Digest, Size: e.Size, MediaType: e.MediaType, Index: index}
}

// comparePair compares one aligned pair.
func (c *comparer) comparePair(ctx context.Context, a, b *side, rp rolePlan, p pairPlan) (ComponentDiff, error) {
	d := ComponentDiff{Kind: p.kind, A: version(p.a, p.ai), B: version(p.b, p.bi)}
	switch {
	case p.b == nil:
		d.Name, d.Change = p.a.Name, ChangeRemoved
		return d, nil
	case p.a == nil:
		d.Name, d.Change = p.b.Name, ChangeAdded
		return d, nil
	}
	d.Name = p.b.Name
	if sameContent(*p.a, *p.b) {
		d.Change = ChangeUnchanged
		if p.moved {
			d.Change = ChangeMoved
		}
		if p.kind == KindWithheld {
			d.Note = "withheld: commitments match, content not visible"
		}
		return d, nil
	}
	d.Change, d.Moved = ChangeChanged, p.moved
	if p.a.MediaType != p.b.MediaType {
		d.Note = fmt.Sprintf("media type %s -> %s", p.a.MediaType, p.b.MediaType)
		if p.a.Digest == p.b.Digest {
			d.Note += "; same bytes"
		}
	}
	switch {
	case p.kind == KindWithheld:
		return c.compareWithheld(ctx, a, b, p, d)
	case p.tooLarge:
		d.TooLarge = true
		d.Note = joinNote(d.Note, fmt.Sprintf("changed, too large to diff (over %d bytes)", c.opts.MaxDiffSize))
		return d, nil
	case !p.content:
		return d, nil
	}
	ba, bb, err := c.pairContent(ctx, a, b, p)
	if err != nil {
		return d, err
	}
	if p.kind == KindStructured {
		va, erra := structuredValue(format(p.a), ba, c.opts.MaxDiffSize)
		vb, errb := structuredValue(format(p.b), bb, c.opts.MaxDiffSize)
		switch {
		case erra != nil || errb != nil:
			d.Kind = KindText
			d.Note = joinNote(d.Note, "compared as text: "+firstErr(erra, errb).Error())
		default:
			d.Label = c.label(rp, p, va, vb)
			d.Paths, d.PathsOmitted = diffValues(d.Label, va, vb, c.opts.MaxPaths)
			if len(d.Paths) > 0 || d.PathsOmitted > 0 {
				return d, nil
			}
			if format(p.a) != format(p.b) {
				d.Note = joinNote(d.Note, "same values")
				return d, nil
			}
			// Same values in other text: comments, layout, key order.
			d.Kind, d.Label = KindText, ""
			d.Note = joinNote(d.Note, "same values, other text")
		}
	}
	d.TextDiff, d.LinesAdded, d.LinesRemoved = unifiedDiff(p.a.Name, p.b.Name, ba, bb, c.opts.ContextLines)
	return d, nil
}

// compareWithheld compares a pair of which at least one side is withheld.
func (c *comparer) compareWithheld(ctx context.Context, a, b *side, p pairPlan, d ComponentDiff) (ComponentDiff, error) {
	switch {
	case p.a.Withheld() && !p.b.Withheld():
		d.Note = "withheld in A, disclosed in B: cannot look inside A to compare"
		return d, nil
	case !p.a.Withheld() && p.b.Withheld():
		d.Note = "disclosed in A, withheld in B: cannot look inside B to compare"
		return d, nil
	}
	d.Note = "withheld: commitments differ, cannot look inside"
	if !p.content {
		return d, nil
	}
	ba, bb, err := c.pairContent(ctx, a, b, p)
	if err != nil {
		return d, err
	}
	ca, erra := spec.ParseCommitment(ba)
	cb, errb := spec.ParseCommitment(bb)
	if erra == nil && errb == nil && ca.MediaType != cb.MediaType {
		d.Note += fmt.Sprintf("; disclosed media type %s -> %s", ca.MediaType, cb.MediaType)
	}
	return d, nil
}

// label is the root of a structured pair's paths: the role when it has
// this one component, else role[name]. Tools are always labelled by their
// function name (or logical name), even alone.
func (c *comparer) label(rp rolePlan, p pairPlan, va, vb any) string {
	if rp.single && rp.role != mediatype.RoleTools {
		return rp.role
	}
	name := p.b.Name
	if rp.role == mediatype.RoleTools {
		if n := toolName(va); n != "" {
			name = n
		} else if n := toolName(vb); n != "" {
			name = n
		}
	}
	return rp.role + "[" + name + "]"
}

// toolName returns a tool definition's function.name, or name.
func toolName(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if f, ok := m["function"].(map[string]any); ok {
		if n, ok := f["name"].(string); ok && n != "" {
			return n
		}
	}
	if n, ok := m["name"].(string); ok {
		return n
	}
	return ""
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
