package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// InputVersion is the version of the policy input document
// (spec/SPEC.md, "Policy input"); it is the input's "version" member.
const InputVersion = "1"

// Default bounds on the content placed in a policy input.
const (
	// DefaultMaxContentSize is the largest component whose content is
	// placed in the input: 64 KiB. A larger component is listed with
	// contentOmitted "too-large".
	DefaultMaxContentSize int64 = 64 << 10
	// DefaultMaxTotalContent caps the bytes of all components whose
	// content is placed in one input: 1 MiB. Components past it, in
	// identity order, are listed with contentOmitted "over-budget".
	DefaultMaxTotalContent int64 = 1 << 20
	// DefaultMaxContentNodes caps the JSON values (objects, arrays and
	// scalars) that one component's parsed content may expand to: 100,000.
	// It stops YAML whose aliases expand exponentially; such content is
	// listed with contentOmitted "too-large".
	DefaultMaxContentNodes = 100_000
)

// Kinds of the subject a policy input describes (Input.Kind).
const (
	// KindIdentity: the input describes a run identity.
	KindIdentity = "identity"
	// KindOutputRecord: the input describes an output record and the
	// identity that is its subject.
	KindOutputRecord = "output-record"
)

// Reasons a component's content is not in the input
// (Component.ContentOmitted).
const (
	// OmittedWithheld: the component is withheld; the identity holds only
	// a commitment to it.
	OmittedWithheld = "withheld"
	// OmittedTooLarge: the component is larger than the content bound, or
	// its parsed content expands beyond the node bound.
	OmittedTooLarge = "too-large"
	// OmittedOverBudget: the input's total content budget was spent on
	// earlier components.
	OmittedOverBudget = "over-budget"
	// OmittedBinary: the component's format is binary.
	OmittedBinary = "binary"
	// OmittedUnparsable: the bytes are not valid in the component's
	// format (JSON, YAML, UTF-8 text).
	OmittedUnparsable = "unparsable"
	// OmittedNotFetched: no content source was given, or content was not
	// requested.
	OmittedNotFetched = "not-fetched"
)

// Input is the policy input document (spec/SPEC.md, "Policy input";
// spec/schema/policy-input.schema.json). Policies read it as "input".
type Input struct {
	// Version is InputVersion.
	Version string `json:"version"`
	// Kind is KindIdentity or KindOutputRecord.
	Kind string `json:"kind"`
	// Identity is the run identity, or for an output record the identity
	// that is its subject.
	Identity IdentityInput `json:"identity"`
	// Signatures lists the signatures that verified, as the caller
	// checked them; empty when none were checked or none verified.
	Signatures []Signature `json:"signatures"`
	// Output is the output record, when Kind is KindOutputRecord.
	Output *OutputInput `json:"output,omitempty"`
}

// IdentityInput describes a run identity.
type IdentityInput struct {
	// Digest is the identity digest.
	Digest digest.Digest `json:"digest"`
	// Reference is where the identity was read, as given (empty when it
	// was composed in memory).
	Reference string `json:"reference,omitempty"`
	// SpecVersion is the identity document's spec version.
	SpecVersion string `json:"specVersion"`
	// Roles holds every role the identity accounts for, core and
	// extension, keyed by role name.
	Roles map[string]Role `json:"roles"`
}

// Role is one role of an identity: its state and its components in
// identity order.
type Role struct {
	// State is present, none or withheld.
	State string `json:"state"`
	// Components are the role's components; empty for a role that is none.
	Components []Component `json:"components"`
}

// Component is one component of an identity.
type Component struct {
	Role      string        `json:"role"`
	Name      string        `json:"name"`
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	// Format is json, yaml, text or binary; empty for a withheld component.
	Format string `json:"format,omitempty"`
	// Withheld is true when the component is a commitment (Digest and
	// Size are then those of the commitment document).
	Withheld bool `json:"withheld"`
	// Content is the component's content, parsed: a JSON value for json
	// and yaml, a string for text. Absent exactly when ContentOmitted is
	// set.
	Content any `json:"content,omitempty"`
	// ContentOmitted says why Content is absent (one of the Omitted*
	// constants), or is empty when Content is present.
	ContentOmitted string `json:"contentOmitted,omitempty"`
}

// Signature is one signature that verified, as the caller passes it: the
// package checks no signature itself.
type Signature struct {
	// KeyID names the key: "sha256:" and the hex SHA-256 of its DER
	// public key (the key ID runid-oci verify reports).
	KeyID string `json:"keyId"`
	// Format is "tag" (cosign's tag format) or "bundle" (a Sigstore bundle).
	Format string `json:"format"`
	// Signed says what was signed: KindIdentity or KindOutputRecord.
	Signed string `json:"signed"`
	// Digest is the manifest digest the signature names.
	Digest digest.Digest `json:"digest"`
	// CertificateIdentity and CertificateIssuer are the identity and OIDC
	// issuer of a keyless signature's certificate (KeyID is then empty).
	CertificateIdentity string `json:"certificateIdentity,omitempty"`
	CertificateIssuer   string `json:"certificateIssuer,omitempty"`
}

// OutputInput describes an output record (spec/SPEC.md §8.1).
type OutputInput struct {
	// Digest is the record's manifest digest.
	Digest digest.Digest `json:"digest"`
	// Reference is where the record was read, as given.
	Reference string `json:"reference,omitempty"`
	// Subject is the descriptor of the identity manifest the record
	// belongs to.
	Subject Descriptor `json:"subject"`
	// Execution holds the output document's execution facts.
	Execution map[string]any `json:"execution"`
	// Files lists the output files carried as layers.
	Files []File `json:"files"`
	// External lists the outputs stored elsewhere.
	External []Descriptor `json:"external"`
}

// Descriptor is the part of an OCI descriptor a policy needs.
type Descriptor struct {
	MediaType    string        `json:"mediaType"`
	Digest       digest.Digest `json:"digest"`
	Size         int64         `json:"size"`
	ArtifactType string        `json:"artifactType,omitempty"`
	URLs         []string      `json:"urls,omitempty"`
}

// File is an output file of a record.
type File struct {
	Name      string        `json:"name"`
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
}

// InputOptions configure NewInput. The zero value is valid.
type InputOptions struct {
	// Reference is recorded as identity.reference.
	Reference string
	// Signatures are the verified signatures to list.
	Signatures []Signature
	// Output, if set, makes the input describe this output record
	// (Kind KindOutputRecord); its subject must be the identity.
	Output *spec.OutputRecord
	// OutputReference is recorded as output.reference.
	OutputReference string
	// MaxContentSize is the largest component whose content is placed in
	// the input. Default: DefaultMaxContentSize. Negative: no content.
	MaxContentSize int64
	// MaxTotalContent caps the bytes of content in one input.
	// Default: DefaultMaxTotalContent.
	MaxTotalContent int64
	// MaxContentNodes caps the values one component's parsed content
	// expands to. Default: DefaultMaxContentNodes.
	MaxContentNodes int
}

func (o InputOptions) withDefaults() InputOptions {
	if o.MaxContentSize == 0 {
		o.MaxContentSize = DefaultMaxContentSize
	}
	if o.MaxTotalContent <= 0 {
		o.MaxTotalContent = DefaultMaxTotalContent
	}
	if o.MaxContentNodes <= 0 {
		o.MaxContentNodes = DefaultMaxContentNodes
	}
	return o
}

// NewInput builds the policy input of the identity id. The content of each
// disclosed component within the bounds of opts is fetched from src
// (verified against its digest and size as it is read) and parsed; src may
// be nil, and every component is then listed with contentOmitted
// "not-fetched". A blob that src does not have, or whose bytes do not
// match its digest, is an error: the input never holds content that is not
// the identity's.
func NewInput(ctx context.Context, src content.Fetcher, id *spec.Identity, opts InputOptions) (*Input, error) {
	if id == nil {
		return nil, errors.New("policy input: no identity")
	}
	o := opts.withDefaults()
	doc := id.Document
	in := &Input{
		Version: InputVersion,
		Kind:    KindIdentity,
		Identity: IdentityInput{
			Digest:      id.Digest(),
			Reference:   o.Reference,
			SpecVersion: doc.SpecVersion,
			Roles:       make(map[string]Role, len(doc.Roles)),
		},
		Signatures: slices.Clone(o.Signatures),
	}
	if in.Signatures == nil {
		in.Signatures = []Signature{}
	}
	for r, st := range doc.Roles {
		in.Identity.Roles[r] = Role{State: st, Components: []Component{}}
	}
	budget := o.MaxTotalContent
	for _, c := range doc.Components {
		comp := Component{Role: c.Role, Name: c.Name, MediaType: c.MediaType, Digest: c.Digest, Size: c.Size, Withheld: c.Withheld()}
		if !comp.Withheld {
			_, comp.Format, _ = mediatype.ParseComponent(c.MediaType)
		}
		switch {
		case comp.Withheld:
			comp.ContentOmitted = OmittedWithheld
		case comp.Format == mediatype.FormatBinary:
			comp.ContentOmitted = OmittedBinary
		case src == nil || o.MaxContentSize < 0:
			comp.ContentOmitted = OmittedNotFetched
		case c.Size > o.MaxContentSize:
			comp.ContentOmitted = OmittedTooLarge
		case c.Size > budget:
			comp.ContentOmitted = OmittedOverBudget
		default:
			budget -= c.Size
			data, err := content.FetchAll(ctx, src, c.Descriptor())
			if err != nil {
				return nil, fmt.Errorf("policy input: component %q (%s): %w", c.Name, c.Digest, err)
			}
			comp.Content, comp.ContentOmitted = parseContent(comp.Format, data, o.MaxContentNodes)
			if comp.Content == nil && comp.ContentOmitted == "" {
				comp.Content = json.RawMessage("null") // content that is JSON null, kept apart from absent content
			}
		}
		r := in.Identity.Roles[c.Role]
		r.Components = append(r.Components, comp)
		in.Identity.Roles[c.Role] = r
	}
	if o.Output != nil {
		rec := o.Output
		if rec.Document.Identity != id.Digest() {
			return nil, fmt.Errorf("policy input: the output record belongs to identity %s, not %s", rec.Document.Identity, id.Digest())
		}
		out := &OutputInput{
			Digest:    rec.Digest(),
			Reference: o.OutputReference,
			Execution: rec.Document.Execution,
			Files:     []File{},
			External:  []Descriptor{},
		}
		if rec.Manifest.Subject != nil {
			out.Subject = descriptor(*rec.Manifest.Subject)
		}
		if out.Execution == nil {
			out.Execution = map[string]any{}
		}
		for _, f := range rec.Files() {
			out.Files = append(out.Files, File{Name: f.Annotations[mediatype.AnnotationTitle], MediaType: f.MediaType, Digest: f.Digest, Size: f.Size})
		}
		for _, e := range rec.Document.External {
			out.External = append(out.External, descriptor(e))
		}
		in.Kind, in.Output = KindOutputRecord, out
	}
	return in, nil
}

func descriptor(d ocispec.Descriptor) Descriptor {
	return Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: d.ArtifactType, URLs: d.URLs}
}

// CompositionInput builds the policy input of a composition that has not
// been pushed, reading each component's bytes from the composition
// (pack.Component.Open): what a harness evaluates before it calls a model.
func CompositionInput(ctx context.Context, comp *pack.Composition, opts InputOptions) (*Input, error) {
	return NewInput(ctx, compositionFetcher{comp}, comp.Identity, opts)
}

// compositionFetcher serves a composition's component bytes by digest.
type compositionFetcher struct{ comp *pack.Composition }

func (f compositionFetcher) Fetch(_ context.Context, target ocispec.Descriptor) (io.ReadCloser, error) {
	for _, c := range f.comp.Components {
		if c.Digest == target.Digest && !c.Withheld() {
			return c.Open()
		}
	}
	return nil, fmt.Errorf("component %s: not in the composition", target.Digest)
}

// parseContent parses a component's bytes by format: JSON and YAML into
// JSON values (numbers as json.Number, exact), text into a string. It
// returns the reason the content is left out instead when it cannot.
func parseContent(format string, data []byte, maxNodes int) (any, string) {
	switch format {
	case mediatype.FormatText:
		if !utf8.Valid(data) {
			return nil, OmittedUnparsable
		}
		return string(data), ""
	case mediatype.FormatJSON:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, OmittedUnparsable
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, OmittedUnparsable
		}
		return v, ""
	case mediatype.FormatYAML:
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, OmittedUnparsable
		}
		n := maxNodes
		out, err := jsonValue(v, &n)
		switch {
		case errors.Is(err, errTooManyNodes):
			return nil, OmittedTooLarge
		case err != nil:
			return nil, OmittedUnparsable
		}
		return out, ""
	}
	return nil, OmittedBinary
}

var errTooManyNodes = errors.New("content expands beyond the node bound")

// jsonValue turns a decoded YAML value into a JSON value, counting every
// value against *budget so that aliases, which decode to shared values,
// cannot expand without bound.
func jsonValue(v any, budget *int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errTooManyNodes
	}
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case int:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(x, 10)), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v is not a JSON number", x)
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			j, err := jsonValue(e, budget)
			if err != nil {
				return nil, err
			}
			out[i] = j
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			j, err := jsonValue(e, budget)
			if err != nil {
				return nil, err
			}
			out[k] = j
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			j, err := jsonValue(e, budget)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = j
		}
		return out, nil
	}
	return fmt.Sprint(v), nil
}
