package attest

import (
	"bytes"
	"encoding/json"
	"fmt"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/runid/runid-oci/spec"
)

// StatementTypeV01 is the _type of an in-toto v0.1 statement, which
// "cosign attest" v2 writes; it is read as v1.
const StatementTypeV01 = "https://in-toto.io/Statement/v0.1"

// MaxStatementSize caps a statement read from an envelope or a bundle.
const MaxStatementSize = 16 << 20

// Parsed is a statement read back by ParseStatement.
type Parsed struct {
	// Statement is the in-toto statement, validated.
	Statement *ita.Statement
	// PredicateType is its predicate type.
	PredicateType string
	// Identity names the run identity the predicate names.
	Identity spec.LinkedIdentity
	// OutputRecord is the digest of the output record it names, if any.
	OutputRecord digest.Digest
	// Run is the run predicate (run predicate type only).
	Run *spec.RunPredicate
	// Provenance is the SLSA provenance (SLSA predicate type only).
	Provenance *slsa.Provenance
}

// ParseStatement decodes an in-toto Statement v1 with the in-toto Go types
// and their validation, then its predicate: the run predicate
// (spec.ParseRunPredicate) or SLSA Provenance v1 of build type
// spec.SLSABuildType, whose externalParameters name the identity. Another
// predicate type wraps ErrPredicate; anything invalid wraps ErrStatement
// (or the spec sentinel of the predicate).
func ParseStatement(b []byte) (*Parsed, error) {
	if len(b) > MaxStatementSize {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrStatement, len(b), MaxStatementSize)
	}
	st := &ita.Statement{}
	if err := protojson.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatement, err)
	}
	if st.GetType() == StatementTypeV01 {
		// cosign v2 writes the v0.1 statement type; its members are v1's.
		st.Type = ita.StatementTypeUri
		defer func() { st.Type = StatementTypeV01 }()
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	p := &Parsed{Statement: st, PredicateType: st.GetPredicateType()}
	pred, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("%w: predicate: %v", ErrStatement, err)
	}
	switch p.PredicateType {
	case spec.RunPredicateType:
		run, _, err := spec.ParseRunPredicate(pred)
		if err != nil {
			return nil, err
		}
		p.Run, p.Identity = run, run.Identity
		if run.OutputRecord != nil {
			p.OutputRecord = run.OutputRecord.Digest
		}
	case spec.SLSAProvenancePredicateType:
		prov := &slsa.Provenance{}
		if err := protojson.Unmarshal(pred, prov); err != nil {
			return nil, fmt.Errorf("%w: SLSA provenance: %v", ErrStatement, err)
		}
		if err := prov.Validate(); err != nil {
			return nil, fmt.Errorf("%w: SLSA provenance: %w", ErrStatement, err)
		}
		if bt := prov.GetBuildDefinition().GetBuildType(); bt != spec.SLSABuildType {
			return nil, fmt.Errorf("%w: SLSA build type %q is not a run's (%s)", ErrPredicate, bt, spec.SLSABuildType)
		}
		ext, err := protojson.Marshal(prov.GetBuildDefinition().GetExternalParameters())
		if err != nil {
			return nil, fmt.Errorf("%w: externalParameters: %v", ErrStatement, err)
		}
		var e externalParameters
		dec := json.NewDecoder(bytes.NewReader(ext))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%w: externalParameters: %v", ErrStatement, err)
		}
		if err := spec.ValidateLinkedIdentity(e.Identity); err != nil {
			return nil, fmt.Errorf("%w: externalParameters.identity: %w", ErrStatement, err)
		}
		if e.OutputRecord != "" && e.OutputRecord.Validate() != nil {
			return nil, fmt.Errorf("%w: externalParameters.outputRecord %q is not a digest", ErrStatement, e.OutputRecord)
		}
		p.Provenance, p.Identity, p.OutputRecord = prov, e.Identity, e.OutputRecord
	default:
		return nil, fmt.Errorf("%w: predicate type %q (runid-oci reads %s and %s)", ErrPredicate, p.PredicateType, spec.RunPredicateType, spec.SLSAProvenancePredicateType)
	}
	return p, nil
}
