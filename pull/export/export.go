// Package export writes a run identity in the formats that supply-chain and
// compliance tools collect: a CycloneDX 1.6 JSON BOM (an AI-BOM of the
// run's composition), and the unsigned in-toto statement of a run
// attestation, for pipelines that sign with their own tools.
package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// Formats.
const (
	// FormatCycloneDX: a CycloneDX 1.6 JSON BOM.
	FormatCycloneDX = "cyclonedx"
	// FormatInToto: the unsigned in-toto statement of a run attestation.
	FormatInToto = "intoto"
)

// ErrFormat: an unknown export format, or options it cannot use.
var ErrFormat = errors.New("unsupported export")

// Options configure Export. The zero value is valid for FormatCycloneDX.
type Options struct {
	// Format is FormatCycloneDX (default) or FormatInToto.
	Format string
	// Repository is where the identity can be fetched: recorded in the
	// BOM (as a property) and in a statement's predicate. Default: the
	// BOM records none; a statement requires it.
	Repository string
	// Timestamp, if set, is recorded as the BOM's metadata.timestamp.
	// Default: none, so that the same identity gives the same bytes.
	Timestamp time.Time
	// Subject is the artifact a statement is about (FormatInToto;
	// required): its digest, computed by the caller from its bytes.
	Subject ocispec.Descriptor
	// SubjectName is the subject's name in the statement. Default: none.
	SubjectName string
	// Record names an output record of the identity in the source, for a
	// statement (FormatInToto). Default: none.
	Record string
	// Predicate is the statement's predicate kind (attest.PredicateRun,
	// the default, or attest.PredicateSLSA).
	Predicate string
	// Options bound what is read (MaxMetadataSize) and log.
	pull.Options
}

// Export reads the identity that ref names in src (pull.Inspect: the
// manifest hashed here, the identity document checked against every
// structural rule) and writes it in opts.Format:
//
//   - FormatCycloneDX (CycloneDX): the BOM's bytes;
//   - FormatInToto: the statement about opts.Subject that attest.Statement
//     makes, naming the identity and opts.Record.
//
// The result ends with a newline. An identity that breaks a rule gives a
// *pull.VerificationError.
func Export(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts Options) ([]byte, error) {
	switch opts.Format {
	case "", FormatCycloneDX:
		id, err := pull.Inspect(ctx, src, ref, opts.Options)
		if err != nil {
			return nil, err
		}
		return CycloneDX(ctx, src, id.Identity, opts)
	case FormatInToto:
		if opts.Subject.Digest == "" {
			return nil, fmt.Errorf("%w: an in-toto statement needs the artifact it is about (its digest)", ErrFormat)
		}
		id, err := pull.Inspect(ctx, src, ref, opts.Options)
		if err != nil {
			return nil, err
		}
		var rec *spec.OutputRecord
		if opts.Record != "" {
			if rec, err = attest.ReadOutputRecord(ctx, src, opts.Record, opts.MaxMetadataSize); err != nil {
				return nil, fmt.Errorf("export: output record %s: %w", opts.Record, err)
			}
		}
		b, err := attest.Statement(opts.Subject, id.Identity, opts.Repository, rec,
			attest.StatementOptions{Predicate: opts.Predicate, SubjectName: opts.SubjectName})
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	}
	return nil, fmt.Errorf("%w: format %q (want %s or %s)", ErrFormat, opts.Format, FormatCycloneDX, FormatInToto)
}

// Property names of the BOM.
const (
	propIdentity   = "runid:identity"
	propRepository = "runid:repository"
	propRole       = "runid:role"
	propRoleState  = "runid:role-state:"
	propName       = "runid:name"
	propMediaType  = "runid:media-type"
	propWithheld   = "runid:withheld"
)

// maxDocumentSize caps the model and runtime components read to describe
// them.
const maxDocumentSize = 1 << 20

// CycloneDX returns the CycloneDX 1.6 JSON BOM of the identity id, whose
// model and runtime components are read from src (through their size and
// digest) to describe them. The BOM is deterministic: its serial number
// is a name-based UUID of the identity digest, and it has no timestamp
// unless opts.Timestamp is set.
//
//   - metadata.component is the run identity: bom-ref and SHA-256 hash the
//     identity digest, each role's state as a property;
//   - the model is a machine-learning-model component (provider as
//     supplier, name, version; local weights as nested file components with
//     their digests);
//   - context and input documents are data components, tools, system
//     prompt, parameters and config documents too, each with its role;
//   - runtime packages (the members of the runtime component that name a
//     package) are application, framework, library, platform or container
//     components;
//   - every component carries the SHA-256 of its bytes, except withheld
//     ones, whose digest is a commitment, not a hash of the content.
func CycloneDX(ctx context.Context, src oras.ReadOnlyTarget, id *spec.Identity, opts Options) ([]byte, error) {
	d := id.Digest()
	bom := cdx.NewBOM()
	bom.JSONSchema = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	bom.SerialNumber = "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://runid.dev/identity/"+d.String())).String()
	meta := &cdx.Component{
		BOMRef:  d.String(),
		Type:    cdx.ComponentTypeApplication,
		Name:    "run identity",
		Version: d.String(),
		Hashes:  &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: d.Encoded()}},
	}
	props := []cdx.Property{{Name: propIdentity, Value: d.String()}}
	if opts.Repository != "" {
		props = append(props, cdx.Property{Name: propRepository, Value: opts.Repository})
	}
	for _, r := range slices.SortedFunc(maps.Keys(id.Document.Roles), spec.CompareRoles) {
		props = append(props, cdx.Property{Name: propRoleState + r, Value: id.Document.Roles[r]})
	}
	meta.Properties = &props
	bom.Metadata = &cdx.Metadata{Component: meta}
	if !opts.Timestamp.IsZero() {
		bom.Metadata.Timestamp = opts.Timestamp.UTC().Format(time.RFC3339)
	}

	comps := []cdx.Component{}
	for _, c := range id.Document.Components {
		base := component(c)
		switch {
		case c.Withheld():
			comps = append(comps, base)
		case c.Role == mediatype.RoleModel && isJSON(c):
			doc, err := readJSON(ctx, src, c)
			if err != nil {
				return nil, err
			}
			comps = append(comps, modelComponent(base, doc))
		case c.Role == mediatype.RoleRuntime && isJSON(c):
			doc, err := readJSON(ctx, src, c)
			if err != nil {
				return nil, err
			}
			base.Components = runtimePackages(c, doc)
			comps = append(comps, base)
		default:
			comps = append(comps, base)
		}
	}
	bom.Components = &comps

	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	enc.SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("encode CycloneDX BOM: %w", err)
	}
	return buf.Bytes(), nil
}

// component is the BOM component of an identity component: a data
// component named by its logical name, with its role, media type and hash.
func component(c spec.ComponentEntry) cdx.Component {
	props := []cdx.Property{{Name: propRole, Value: c.Role}, {Name: propMediaType, Value: c.MediaType}}
	out := cdx.Component{
		BOMRef: c.Name,
		Type:   cdx.ComponentTypeData,
		Name:   c.Name,
	}
	if c.Withheld() {
		props = append(props, cdx.Property{Name: propWithheld, Value: "true"})
	} else {
		out.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: c.Digest.Encoded()}}
	}
	out.Properties = &props
	return out
}

func isJSON(c spec.ComponentEntry) bool { return strings.HasSuffix(c.MediaType, "+json") }

// readJSON reads a component's bytes (at most maxDocumentSize, checked
// against its size and digest) and decodes them as a JSON object; a
// component that is not an object gives nil.
func readJSON(ctx context.Context, src oras.ReadOnlyTarget, c spec.ComponentEntry) (map[string]any, error) {
	if c.Size > maxDocumentSize {
		return nil, nil
	}
	rc, err := src.Fetch(ctx, c.Descriptor())
	if err != nil {
		return nil, fmt.Errorf("export: read %s: %w", c.Name, err)
	}
	defer rc.Close()
	b, err := content.ReadAll(io.LimitReader(rc, c.Size+1), c.Descriptor())
	if err != nil {
		return nil, &pull.VerificationError{Reference: c.Name, Problems: []spec.Problem{{Check: "blob-digest", Subject: c.Name, Msg: err.Error()}}}
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil, nil
	}
	return m, nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// modelComponent describes the model (spec/SPEC.md §4.5): an API model by
// provider, name and version; local weights by name and one nested file
// component per weight file with its digest.
func modelComponent(c cdx.Component, doc map[string]any) cdx.Component {
	c.Type = cdx.ComponentTypeMachineLearningModel
	if doc == nil {
		return c
	}
	props := *c.Properties
	props = append(props, cdx.Property{Name: propName, Value: c.Name})
	c.Properties = &props
	if n := str(doc, "name"); n != "" {
		c.Name = n
	}
	c.Version = str(doc, "version")
	if p := str(doc, "provider"); p != "" {
		c.Supplier = &cdx.OrganizationalEntity{Name: p}
		c.Group = p
	}
	weights, _ := doc["weights"].([]any)
	var files []cdx.Component
	for i, w := range weights {
		wm, _ := w.(map[string]any)
		wd, err := digest.Parse(str(wm, "digest"))
		if wm == nil || err != nil {
			continue
		}
		f := cdx.Component{
			BOMRef: fmt.Sprintf("%s#weights[%d]", c.BOMRef, i),
			Type:   cdx.ComponentTypeFile,
			Name:   fmt.Sprintf("weights[%d]", i),
		}
		if wd.Algorithm() == digest.SHA256 {
			f.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: wd.Encoded()}}
		}
		if mt := str(wm, "mediaType"); mt != "" {
			f.MIMEType = mt
		}
		if loc := str(wm, "location"); loc != "" {
			f.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: loc}}
		}
		files = append(files, f)
	}
	if len(files) > 0 {
		c.Components = &files
	}
	return c
}

// runtimeTypes maps the well-known members of a runtime component to
// CycloneDX component types; any other member that names a package is a
// library.
var runtimeTypes = map[string]cdx.ComponentType{
	"harness":   cdx.ComponentTypeApplication,
	"framework": cdx.ComponentTypeFramework,
	"language":  cdx.ComponentTypePlatform,
	"container": cdx.ComponentTypeContainer,
}

// runtimePackages lists the packages a runtime component names: each
// member that is an object with a name (or, for a container, an image).
func runtimePackages(c spec.ComponentEntry, doc map[string]any) *[]cdx.Component {
	var out []cdx.Component
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		m, ok := doc[k].(map[string]any)
		if !ok {
			continue
		}
		name := str(m, "name")
		if name == "" {
			name = str(m, "image")
		}
		if name == "" {
			continue
		}
		t, ok := runtimeTypes[k]
		if !ok {
			t = cdx.ComponentTypeLibrary
		}
		out = append(out, cdx.Component{
			BOMRef:     c.Name + "#" + k,
			Type:       t,
			Name:       name,
			Version:    str(m, "version"),
			Properties: &[]cdx.Property{{Name: propRole, Value: c.Role + "." + k}},
		})
	}
	if len(out) == 0 {
		return nil
	}
	return &out
}
