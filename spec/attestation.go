package spec

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
)

// Run attestations (spec/SPEC.md §14): an in-toto statement whose subject is
// an artifact a run produced and whose predicate names the run.
const (
	// RunPredicateType is the in-toto predicateType of the run predicate.
	RunPredicateType = "https://runid.dev/attestation/run/v1"
	// SLSAProvenancePredicateType is the predicateType of SLSA Provenance v1.
	SLSAProvenancePredicateType = "https://slsa.dev/provenance/v1"
	// SLSABuildType is the buildType of the SLSA provenance of a run: its
	// externalParameters name the identity, its resolvedDependencies are the
	// disclosed components.
	SLSABuildType = "https://runid.dev/attestation/slsa-build/v1"
	// SLSABuilderID is the default runDetails.builder.id: the party that
	// attests, when it gives no identifier of its own.
	SLSABuilderID = "https://runid.dev/runid-oci"
)

// ErrInvalidPredicate: a run predicate breaks spec/SPEC.md §14.2.
var ErrInvalidPredicate = errors.New("invalid run predicate")

// RunPredicate is the predicate of a run attestation (spec/SPEC.md §14.2):
// where the identity lives, the output record if any, and the composition's
// summary (every role's state and every component's entry, as in the
// identity document), so that a policy can decide without fetching the
// identity.
type RunPredicate struct {
	// SpecVersion is "1.0".
	SpecVersion string `json:"specVersion"`
	// Identity names the run identity: its digest and the repository (or
	// OCI layout path) it can be fetched from.
	Identity LinkedIdentity `json:"identity"`
	// OutputRecord is the output record of the execution, when one is
	// named.
	OutputRecord *RecordSummary `json:"outputRecord,omitempty"`
	// Roles is every declared role's state, as in the identity document.
	Roles map[string]string `json:"roles"`
	// Components is every component entry of the identity document, in
	// its order.
	Components []ComponentEntry `json:"components"`
}

// RecordSummary names an output record of the identity and copies its
// well-known execution facts.
type RecordSummary struct {
	// Digest is the output record's manifest digest.
	Digest digest.Digest `json:"digest"`
	// Execution holds the record's well-known execution facts
	// (WellKnownFacts) that it has; other facts are left out.
	Execution map[string]any `json:"execution,omitempty"`
}

// WellKnownFacts are the execution facts of spec/SPEC.md §8.1 that a run
// predicate copies from an output record.
var WellKnownFacts = []string{FactInstanceID, FactStartedAt, FactEndedAt, FactStatus, FactExitCode, FactServedModel}

// BuildRunPredicate makes the run predicate of the identity id, fetched from
// repository, and of its output record rec (nil for none). The record must
// name id. The result passes ParseRunPredicate.
func BuildRunPredicate(id *Identity, repository string, rec *OutputRecord) (*RunPredicate, error) {
	if id == nil {
		return nil, fmt.Errorf("%w: no identity", ErrInvalidPredicate)
	}
	p := &RunPredicate{
		SpecVersion: mediatype.SpecVersion,
		Identity:    LinkedIdentity{Digest: id.Digest(), Repository: repository},
		Roles:       maps.Clone(id.Document.Roles),
		Components:  slices.Clone(id.Document.Components),
	}
	if p.Components == nil {
		p.Components = []ComponentEntry{}
	}
	if rec != nil {
		if rec.Document.Identity != p.Identity.Digest {
			return nil, &RecordError{Err: ErrInvalidPredicate, Problems: []Problem{{Check: "predicate-record", Subject: rec.Digest().String(),
				Msg: fmt.Sprintf("the output record names the identity %s, not %s", rec.Document.Identity, p.Identity.Digest)}}}
		}
		p.OutputRecord = &RecordSummary{Digest: rec.Digest()}
		for _, k := range WellKnownFacts {
			if v, ok := rec.Document.Execution[k]; ok {
				if p.OutputRecord.Execution == nil {
					p.OutputRecord.Execution = map[string]any{}
				}
				p.OutputRecord.Execution[k] = v
			}
		}
	}
	b, err := MarshalCanonical(p)
	if err != nil {
		return nil, fmt.Errorf("encode run predicate: %w", err)
	}
	if _, _, err := ParseRunPredicate(b); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseRunPredicate decodes and validates a run predicate (spec/SPEC.md
// §14.2, schema/run-predicate.schema.json): members and types, the
// identity as a link names it (§8.2), role states that agree with the
// components (§3.3), and the execution facts (§8.1). Versions follow §9.
// Errors are *RecordError wrapping ErrInvalidPredicate (or
// ErrUnsupportedVersion).
func ParseRunPredicate(data []byte) (*RunPredicate, []string, error) {
	return parseDocument(data, "run predicate", "run-predicate.schema.json", ErrInvalidPredicate,
		[]string{"specVersion", "identity", "outputRecord", "roles", "components"},
		checkRunPredicate)
}

func checkRunPredicate(p *RunPredicate) error {
	var probs []Problem
	if err := ValidateLinkedIdentity(p.Identity); err != nil {
		var re *RecordError
		if errors.As(err, &re) {
			for _, pr := range re.Problems {
				probs = append(probs, Problem{Check: "predicate-identity", Subject: "identity." + pr.Subject, Msg: pr.Msg})
			}
		}
	}
	roles := slices.Sorted(maps.Keys(p.Roles))
	for _, r := range mediatype.CoreRoles() {
		if _, ok := p.Roles[r]; !ok {
			probs = append(probs, Problem{Check: "predicate-roles", Subject: "roles." + r, Msg: "core role missing"})
		}
	}
	names := map[string]bool{}
	for i, c := range p.Components {
		if _, ok := p.Roles[c.Role]; !ok {
			probs = append(probs, Problem{Check: "predicate-roles", Subject: fmt.Sprintf("components[%d].role", i), Msg: fmt.Sprintf("role %q is not in roles", c.Role)})
		}
		if names[c.Name] {
			probs = append(probs, Problem{Check: "predicate-components", Subject: fmt.Sprintf("components[%d].name", i), Msg: fmt.Sprintf("duplicate name %q", c.Name)})
		}
		names[c.Name] = true
	}
	want := RoleStates(roles, p.Components)
	for _, r := range roles {
		if p.Roles[r] != want[r] {
			probs = append(probs, Problem{Check: "predicate-roles", Subject: "roles." + r,
				Msg: fmt.Sprintf("state %q, but its components make it %q", p.Roles[r], want[r])})
		}
	}
	if p.OutputRecord != nil {
		for k := range p.OutputRecord.Execution {
			if !slices.Contains(WellKnownFacts, k) {
				probs = append(probs, Problem{Check: "predicate-record", Subject: "outputRecord.execution." + k, Msg: "not a well-known execution fact"})
			}
		}
		if err := CheckExecution(p.OutputRecord.Execution); err != nil {
			var re *RecordError
			if errors.As(err, &re) {
				for _, pr := range re.Problems {
					probs = append(probs, Problem{Check: "predicate-record", Subject: "outputRecord.execution." + pr.Subject, Msg: pr.Msg})
				}
			}
		}
	}
	if len(probs) > 0 {
		return &RecordError{Err: ErrInvalidPredicate, Problems: probs}
	}
	return nil
}
