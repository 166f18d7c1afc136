// Package attest makes run attestations (spec/SPEC.md §14): in-toto
// Statement v1 documents saying that an artifact was produced by a run,
// with the run predicate of this project or as SLSA Provenance v1, signed
// as DSSE envelopes and stored the two ways cosign stores attestations, so
// that "cosign verify-attestation" and the tools that read in-toto
// attestations accept them unchanged.
//
// Statements are built with the in-toto attestation Go types and their
// validation, and encoded as RFC 8785 canonical JSON: the same inputs give
// the same statement bytes.
package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// Predicate kinds, as the CLI's --predicate-type names them.
const (
	// PredicateRun: the run predicate (spec.RunPredicateType).
	PredicateRun = "run"
	// PredicateSLSA: SLSA Provenance v1 (spec.SLSAProvenancePredicateType)
	// with the build type spec.SLSABuildType.
	PredicateSLSA = "slsa"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrPredicate: an unknown predicate kind was asked for, or a
	// statement's predicate type is not one this package reads.
	ErrPredicate = errors.New("unsupported predicate")
	// ErrStatement: bytes that are not a valid in-toto Statement v1, or
	// whose predicate breaks its rules (spec/SPEC.md §14).
	ErrStatement = errors.New("invalid in-toto statement")
)

// PredicateType returns the predicateType URI of a predicate kind
// (PredicateRun or PredicateSLSA; "" is PredicateRun).
func PredicateType(kind string) (string, error) {
	switch kind {
	case "", PredicateRun:
		return spec.RunPredicateType, nil
	case PredicateSLSA:
		return spec.SLSAProvenancePredicateType, nil
	}
	return "", fmt.Errorf("%w: %q (want %q or %q)", ErrPredicate, kind, PredicateRun, PredicateSLSA)
}

// StatementOptions configure Statement. The zero value is valid.
type StatementOptions struct {
	// Predicate is PredicateRun (default) or PredicateSLSA.
	Predicate string
	// SubjectName is the subject's name in the statement (for example the
	// repository of the artifact). Default: none; the digest identifies
	// the subject.
	SubjectName string
	// BuilderID is the SLSA runDetails.builder.id: who attests.
	// Default: spec.SLSABuilderID.
	BuilderID string
	// BuilderVersion is the SLSA runDetails.builder.version. Default: none.
	BuilderVersion map[string]string
}

// Statement returns the in-toto Statement v1 about subject (an artifact,
// described by the digest of its bytes) saying that the run identity id,
// fetched from repository, produced it, with its output record rec (nil
// for none), as RFC 8785 canonical JSON (spec/SPEC.md §14.1).
//
// With the run predicate the predicate is spec.BuildRunPredicate's. With
// SLSA provenance, buildDefinition has the build type spec.SLSABuildType,
// externalParameters naming the identity (and the record), and
// resolvedDependencies listing every disclosed component by name, digest
// and media type; runDetails has the builder and, from the record, the
// instance ID and times, and the record as a byproduct. Both are built
// with the in-toto attestation Go types and pass their validation.
func Statement(subject ocispec.Descriptor, id *spec.Identity, repository string, rec *spec.OutputRecord, opts StatementOptions) ([]byte, error) {
	predicateType, err := PredicateType(opts.Predicate)
	if err != nil {
		return nil, err
	}
	if err := subject.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%w: subject digest %q: %v", ErrStatement, subject.Digest, err)
	}
	run, err := spec.BuildRunPredicate(id, repository, rec)
	if err != nil {
		return nil, err
	}
	var predicate *structpb.Struct
	switch predicateType {
	case spec.RunPredicateType:
		predicate, err = runStruct(run)
	default:
		predicate, err = provenanceStruct(run, opts)
	}
	if err != nil {
		return nil, err
	}
	st := &ita.Statement{
		Type: ita.StatementTypeUri,
		Subject: []*ita.ResourceDescriptor{{
			Name:   opts.SubjectName,
			Digest: map[string]string{subject.Digest.Algorithm().String(): subject.Digest.Encoded()},
		}},
		PredicateType: predicateType,
		Predicate:     predicate,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	return canonicalProto(st)
}

// canonicalProto encodes m with protojson (the in-toto JSON mapping) in RFC
// 8785 canonical form: protojson's own output varies in white space.
func canonicalProto(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	return spec.Canonicalize(b)
}

// runStruct is the run predicate as a protobuf Struct.
func runStruct(p *spec.RunPredicate) (*structpb.Struct, error) {
	b, err := spec.MarshalCanonical(p)
	if err != nil {
		return nil, fmt.Errorf("encode run predicate: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode run predicate: %w", err)
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil, fmt.Errorf("encode run predicate: %w", err)
	}
	return s, nil
}

// externalParameters names the identity and the record in SLSA provenance.
type externalParameters struct {
	Identity     spec.LinkedIdentity `json:"identity"`
	OutputRecord digest.Digest       `json:"outputRecord,omitempty"`
}

// provenanceStruct is the SLSA Provenance v1 of the run, as a protobuf
// Struct, built and validated with the in-toto provenance types.
func provenanceStruct(p *spec.RunPredicate, opts StatementOptions) (*structpb.Struct, error) {
	ext := externalParameters{Identity: p.Identity}
	if p.OutputRecord != nil {
		ext.OutputRecord = p.OutputRecord.Digest
	}
	extStruct, err := toStruct(ext)
	if err != nil {
		return nil, err
	}
	var deps []*ita.ResourceDescriptor
	for _, c := range p.Components {
		if c.Withheld() {
			continue
		}
		role, err := structpb.NewStruct(map[string]any{mediatype.AnnotationRole: c.Role})
		if err != nil {
			return nil, err
		}
		deps = append(deps, &ita.ResourceDescriptor{
			Name:        c.Name,
			Digest:      map[string]string{c.Digest.Algorithm().String(): c.Digest.Encoded()},
			MediaType:   c.MediaType,
			Annotations: role,
		})
	}
	builderID := opts.BuilderID
	if builderID == "" {
		builderID = spec.SLSABuilderID
	}
	prov := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            spec.SLSABuildType,
			ExternalParameters:   extStruct,
			ResolvedDependencies: deps,
		},
		RunDetails: &slsa.RunDetails{Builder: &slsa.Builder{Id: builderID, Version: opts.BuilderVersion}},
	}
	if r := p.OutputRecord; r != nil {
		md := &slsa.BuildMetadata{}
		if s, ok := r.Execution[spec.FactInstanceID].(string); ok {
			md.InvocationId = s
		}
		md.StartedOn = timestamp(r.Execution[spec.FactStartedAt])
		md.FinishedOn = timestamp(r.Execution[spec.FactEndedAt])
		if md.InvocationId != "" || md.StartedOn != nil || md.FinishedOn != nil {
			prov.RunDetails.Metadata = md
		}
		prov.RunDetails.Byproducts = []*ita.ResourceDescriptor{{
			Name:      "output-record",
			Digest:    map[string]string{r.Digest.Algorithm().String(): r.Digest.Encoded()},
			MediaType: ocispec.MediaTypeImageManifest,
		}}
	}
	if err := prov.Validate(); err != nil {
		return nil, fmt.Errorf("%w: SLSA provenance: %w", ErrStatement, err)
	}
	b, err := protojson.Marshal(prov)
	if err != nil {
		return nil, fmt.Errorf("encode SLSA provenance: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("encode SLSA provenance: %w", err)
	}
	return s, nil
}

func toStruct(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, err
	}
	return s, nil
}

// timestamp converts an RFC 3339 execution fact (already checked by
// spec.CheckExecution) to a protobuf timestamp, or nil.
func timestamp(v any) *timestamppb.Timestamp {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	return timestamppb.New(t)
}
