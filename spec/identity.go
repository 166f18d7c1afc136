package spec

import (
	_ "crypto/sha256" // registers SHA-256 for go-digest
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/mediatype"
)

// DefaultMaxMetadataSize is the default cap on the size of a manifest or an
// identity document that a reader accepts (spec/SPEC.md §6): 4 MiB.
const DefaultMaxMetadataSize = 4 << 20

// IdentityDocument is the config blob of an identity manifest
// (spec/SPEC.md §5.2): the spec version, the state of every role, and every
// component in layer order.
type IdentityDocument struct {
	SpecVersion string            `json:"specVersion"`
	Roles       map[string]string `json:"roles"`
	Components  []ComponentEntry  `json:"components"`
}

// ComponentEntry is one component in an identity document.
type ComponentEntry struct {
	Role      string        `json:"role"`
	Name      string        `json:"name"`
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
}

// Withheld reports whether the entry is a commitment rather than content.
func (c ComponentEntry) Withheld() bool { return c.MediaType == mediatype.Withheld }

// Descriptor returns the layer descriptor of the component (spec/SPEC.md §5.3).
func (c ComponentEntry) Descriptor() ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType: c.MediaType,
		Digest:    c.Digest,
		Size:      c.Size,
		Annotations: map[string]string{
			mediatype.AnnotationRole:  c.Role,
			mediatype.AnnotationTitle: c.Name,
		},
	}
}

// RoleStates derives each declared role's state from its components
// (spec/SPEC.md §3.3): roles lists every declared role (a role with no
// component is none).
func RoleStates(roles []string, comps []ComponentEntry) map[string]string {
	out := make(map[string]string, len(roles))
	for _, r := range roles {
		out[r] = mediatype.StateNone
	}
	for _, c := range comps {
		switch {
		case !c.Withheld():
			out[c.Role] = mediatype.StatePresent
		case out[c.Role] == mediatype.StateNone:
			out[c.Role] = mediatype.StateWithheld
		}
	}
	return out
}

// Identity is a built or parsed identity: its manifest and document, with
// the exact bytes of both. Its Digest is the identity digest.
type Identity struct {
	Artifact
	Document IdentityDocument
}

// ConfigDescriptor is the descriptor of the identity document.
func (id *Identity) ConfigDescriptor() ocispec.Descriptor { return id.Manifest.Config }

// BuildIdentity makes the identity document and manifest for components
// already in canonical order (spec/SPEC.md §5). roles lists every declared
// role. Both documents are RFC 8785 canonical JSON; the manifest has no
// annotations, no subject and no creation time, so its bytes depend only on
// the composition.
func BuildIdentity(roles []string, comps []ComponentEntry) (*Identity, error) {
	if comps == nil {
		comps = []ComponentEntry{}
	}
	doc := IdentityDocument{SpecVersion: mediatype.SpecVersion, Roles: RoleStates(roles, comps), Components: comps}
	docBytes, err := MarshalCanonical(sortedDocument(doc))
	if err != nil {
		return nil, fmt.Errorf("encode identity document: %w", err)
	}
	layers := make([]ocispec.Descriptor, len(comps))
	for i, c := range comps {
		layers[i] = c.Descriptor()
	}
	m := newManifest(mediatype.Identity, mediatype.IdentityDocument, docBytes, layers)
	mBytes, err := MarshalCanonical(sortedManifest(m))
	if err != nil {
		return nil, fmt.Errorf("encode identity manifest: %w", err)
	}
	id := &Identity{Artifact: Artifact{Manifest: m, ManifestBytes: mBytes, DocumentBytes: docBytes}, Document: doc}
	// A builder must never produce what a reader rejects: every rule that
	// ParseIdentity applies to a manifest and document it decodes is
	// applied to the ones built here, as typed values. The bytes are not
	// decoded again, nor validated against the identity schema as a
	// generic tree (with 10,000 components that re-check cost most of the
	// build's time and memory): they are the canonical encoding of these
	// values, and the schema's constraints on them are the typed rules
	// (TestBuildIdentitySchema checks built documents against the schema).
	var probs problemList
	checkManifestHeader(m, mediatype.Identity, mediatype.IdentityDocument, "a run identity", probs.add)
	checkIdentity(m, docBytes, &doc, probs.add)
	if len(probs) > 0 {
		return nil, &IdentityError{Err: ErrInvalidIdentity, Problems: probs}
	}
	return id, nil
}

// ParseManifest decodes manifest bytes and checks that they describe a run
// identity: the OCI image manifest media type, schema version 2 and the
// runid artifactType (spec/SPEC.md §6 steps 2–3). It does not look at the
// identity document.
func ParseManifest(manifestBytes []byte) (ocispec.Manifest, error) {
	var probs problemList
	m, _ := parseManifestHeader(manifestBytes, mediatype.Identity, mediatype.IdentityDocument, "a run identity", probs.add)
	if len(probs) > 0 {
		return m, &IdentityError{Err: ErrInvalidIdentity, Problems: probs}
	}
	return m, nil
}

// ParseIdentity checks an identity manifest and its identity document
// against each other and against every structural rule of spec/SPEC.md §6
// (all but fetching and hashing blobs, which need a store). It returns every
// problem found in one *IdentityError.
func ParseIdentity(manifestBytes, documentBytes []byte) (*Identity, error) {
	m, err := ParseManifest(manifestBytes)
	if err != nil {
		return nil, err
	}
	id := &Identity{Artifact: Artifact{Manifest: m, ManifestBytes: manifestBytes, DocumentBytes: documentBytes}}
	var probs problemList
	checkIdentityManifest(m, documentBytes, probs.add)
	checkIdentityMembers(manifestBytes, m, probs.add)
	doc, warnings, schemaProblem, err := parseIdentityDocument(documentBytes)
	id.Warnings = warnings
	if err != nil {
		var ie *IdentityError
		if errors.As(err, &ie) {
			return nil, &IdentityError{Err: ie.Err, Problems: append(probs, ie.Problems...)}
		}
		return nil, err
	}
	id.Document = *doc
	before := len(probs)
	checkIdentityDocument(m, doc, probs.add)
	if schemaProblem != nil && !hasDocumentCheck(probs[before:]) {
		probs = append(probs, *schemaProblem)
	}
	if len(probs) > 0 {
		return nil, &IdentityError{Err: ErrInvalidIdentity, Problems: probs}
	}
	return id, nil
}

// documentChecks are the checks of spec/SPEC.md §6.2 steps 7 and 9, which
// take precedence over document-schema: a document that fails the schema
// is reported as document-schema only when none of them fails.
var documentChecks = []string{"role-accounted", "role-name", "role-state", "component-name", "component-order", "media-type", "component-digest", "component-size"}

func hasDocumentCheck(probs []Problem) bool {
	for _, p := range probs {
		if slices.Contains(documentChecks, p.Check) {
			return true
		}
	}
	return false
}

// Members an identity manifest may have (spec/SPEC.md §5.1, §5.3): a
// reader ignores unknown annotations (§9) but refuses any other member,
// so that it accepts exactly the manifests a packer may write.
var (
	identityManifestMembers = []string{"schemaVersion", "mediaType", "artifactType", "config", "layers", "annotations", "subject"}
	identityConfigMembers   = []string{"mediaType", "digest", "size"}
	identityLayerMembers    = []string{"mediaType", "digest", "size", "annotations"}
)

// checkIdentityMembers checks the members of an identity manifest's bytes
// (check manifest-members); a subject member, even null, is no-subject.
func checkIdentityMembers(manifestBytes []byte, m ocispec.Manifest, add addFunc) {
	var raw struct {
		Top    map[string]json.RawMessage
		Config map[string]json.RawMessage   `json:"config"`
		Layers []map[string]json.RawMessage `json:"layers"`
	}
	if json.Unmarshal(manifestBytes, &raw.Top) != nil {
		return
	}
	_ = json.Unmarshal(manifestBytes, &raw)
	extra := func(where string, obj map[string]json.RawMessage, allowed []string) {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if !slices.Contains(allowed, k) {
				add("manifest-members", where, "member %q is not part of an identity manifest (allowed: %s)", k, strings.Join(allowed, ", "))
			}
		}
	}
	extra("manifest", raw.Top, identityManifestMembers)
	if _, ok := raw.Top["subject"]; ok && m.Subject == nil {
		add("no-subject", "", "the manifest has a subject member (null); an identity manifest has none")
	}
	extra("config", raw.Config, identityConfigMembers)
	for i, l := range raw.Layers {
		extra(fmt.Sprintf("layer %d", i), l, identityLayerMembers)
	}
}

// checkIdentity applies the structural rules of spec/SPEC.md §6 to a
// decoded manifest m, its document's bytes and the decoded document, in
// the order ParseIdentity reports them (ParseIdentity also reports the
// problems that ParseIdentityDocument finds in between).
func checkIdentity(m ocispec.Manifest, documentBytes []byte, doc *IdentityDocument, add addFunc) {
	checkIdentityManifest(m, documentBytes, add)
	checkIdentityDocument(m, doc, add)
}

// checkIdentityManifest checks the manifest of an identity against its
// document's bytes.
func checkIdentityManifest(m ocispec.Manifest, documentBytes []byte, add addFunc) {
	if digest.FromBytes(documentBytes) != m.Config.Digest || int64(len(documentBytes)) != m.Config.Size {
		add("config-digest", "", "identity document bytes do not match the config descriptor")
	}
	if m.Subject != nil {
		add("no-subject", "", "an identity manifest has no subject (it describes a run, not another artifact)")
	}
	if _, ok := m.Annotations[mediatype.AnnotationCreated]; ok {
		add("no-created", "", "the manifest carries %s; an identity must not depend on the clock", mediatype.AnnotationCreated)
	}
}

// checkIdentityDocument checks a decoded identity document and its
// agreement with the manifest's layers.
func checkIdentityDocument(m ocispec.Manifest, doc *IdentityDocument, add addFunc) {
	// Roles: every core role accounted for, extension roles well-formed.
	for _, r := range mediatype.CoreRoles() {
		if _, ok := doc.Roles[r]; !ok {
			add("role-accounted", r, "core role is not accounted for (neither present, none nor withheld)")
		}
	}
	declared := make([]string, 0, len(doc.Roles))
	for r := range doc.Roles {
		if err := ValidateRole(r); err != nil {
			add("role-name", r, "%v", err)
		}
		declared = append(declared, r)
	}
	for _, c := range doc.Components {
		if _, ok := doc.Roles[c.Role]; !ok {
			add("role-accounted", c.Role, "component %q has a role that the document does not list", c.Name)
		}
	}
	want := RoleStates(declared, doc.Components)
	for r, st := range doc.Roles {
		if want[r] != st {
			add("role-state", r, "state %q does not match its components (they make it %q)", st, want[r])
		}
	}

	// Components: names, order, media types, agreement with the layers.
	if len(m.Layers) != len(doc.Components) {
		add("layers-match", "", "%d layers but %d components in the identity document", len(m.Layers), len(doc.Components))
	}
	seen := map[string]bool{}
	for i, c := range doc.Components {
		if err := ValidateName(c.Name); err != nil {
			add("component-name", strconv.Quote(c.Name), "%v", err)
		} else if seen[NameKey(c.Name)] {
			add("component-name", c.Name, "duplicate logical name")
		}
		seen[NameKey(c.Name)] = true
		if i > 0 && RoleOrderLess(c.Role, doc.Components[i-1].Role) {
			add("component-order", c.Name, "role %s comes after role %s; components must be in canonical role order", c.Role, doc.Components[i-1].Role)
		}
		if p := checkMediaType(c); p != "" {
			add("media-type", c.Name, "%s", p)
		}
		if c.Digest.Validate() != nil || c.Digest.Algorithm() != digest.SHA256 {
			add("component-digest", c.Name, "digest %q is not a valid sha256 digest", c.Digest)
		}
		if c.Size < 0 {
			add("component-size", c.Name, "negative size")
		}
		if i < len(m.Layers) {
			l := m.Layers[i]
			switch {
			case l.MediaType != c.MediaType:
				add("layers-match", c.Name, "layer %d media type %q, document says %q", i, l.MediaType, c.MediaType)
			case l.Digest != c.Digest:
				add("layers-match", c.Name, "layer %d digest %s, document says %s", i, l.Digest, c.Digest)
			case l.Size != c.Size:
				add("layers-match", c.Name, "layer %d size %d, document says %d", i, l.Size, c.Size)
			case l.Annotations[mediatype.AnnotationRole] != c.Role:
				add("layers-match", c.Name, "layer %d role annotation %q, document says %q", i, l.Annotations[mediatype.AnnotationRole], c.Role)
			case l.Annotations[mediatype.AnnotationTitle] != c.Name:
				add("layers-match", c.Name, "layer %d title %q, document says %q", i, l.Annotations[mediatype.AnnotationTitle], c.Name)
			}
		}
	}
	if a, b, ok := NameConflict(doc.Components, func(c ComponentEntry) string { return c.Name }); ok {
		add("component-name", b.Name, "%q is also a folder of %q; one name cannot be both a file and a folder", a.Name, b.Name)
	}
}

func checkMediaType(c ComponentEntry) string {
	if c.Withheld() {
		return ""
	}
	role, format, ok := mediatype.ParseComponent(c.MediaType)
	if !ok {
		return fmt.Sprintf("unknown media type %q", c.MediaType)
	}
	wantRole := c.Role
	if !mediatype.IsCoreRole(c.Role) {
		wantRole = "extension"
	}
	if role != wantRole {
		return fmt.Sprintf("media type %q is for role %s, not %s", c.MediaType, role, c.Role)
	}
	if !slices.Contains(mediatype.AllowedFormats(c.Role), format) {
		return fmt.Sprintf("format %s is not allowed for role %s", format, c.Role)
	}
	return ""
}

// ParseIdentityDocument decodes and schema-validates an identity document
// (spec/SPEC.md §5.2, §9). A document of spec version 1.N with N greater
// than this reader's minor version is accepted: its unknown fields are
// ignored and reported as warnings. Any other major version is an error
// wrapping ErrUnsupportedVersion. A document that fails the schema is
// reported by the checks of §6.2 step 7 and 9 that fail on it, or as
// document-schema when none does.
func ParseIdentityDocument(data []byte) (*IdentityDocument, []string, error) {
	doc, warnings, schemaProblem, err := parseIdentityDocument(data)
	if err != nil {
		return nil, warnings, err
	}
	if schemaProblem != nil {
		var probs problemList
		checkIdentityDocument(ocispec.Manifest{Layers: layersOf(doc)}, doc, probs.add)
		if !hasDocumentCheck(probs) {
			probs = append(probs, *schemaProblem)
		}
		return nil, warnings, &IdentityError{Err: ErrInvalidIdentity, Problems: probs}
	}
	return doc, warnings, nil
}

// layersOf is the layers a manifest would have for doc.
func layersOf(doc *IdentityDocument) []ocispec.Descriptor {
	out := make([]ocispec.Descriptor, len(doc.Components))
	for i, c := range doc.Components {
		out[i] = c.Descriptor()
	}
	return out
}

// parseIdentityDocument decodes an identity document: document-json when
// it is not one JSON object that all parsers read alike (§6.2 step 6),
// spec-version, then document-schema when its members do not have the
// types of §5.2. A schema failure beyond that is returned apart, for the
// caller to report only when no check of steps 7 and 9 fails.
func parseIdentityDocument(data []byte) (*IdentityDocument, []string, *Problem, error) {
	fail := func(check, format string, a ...any) error {
		return &IdentityError{Err: ErrInvalidIdentity, Problems: []Problem{{Check: check, Msg: fmt.Sprintf(format, a...)}}}
	}
	if err := checkJSONText(data); err != nil {
		return nil, nil, nil, fail("document-json", "identity document: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, nil, fail("document-json", "identity document is not a JSON object: %v", err)
	}
	var version string
	if v, ok := raw["specVersion"]; ok {
		_ = json.Unmarshal(v, &version)
	}
	major, minor, ok := strings.Cut(version, ".")
	if !ok || major != "1" {
		return nil, nil, nil, &IdentityError{Err: ErrUnsupportedVersion, Problems: []Problem{{Check: "spec-version",
			Msg: fmt.Sprintf("spec version %q; this reader implements %s", version, mediatype.SpecVersion)}}}
	}
	var warnings []string
	if n, err := strconv.Atoi(minor); err == nil && n > 0 {
		for k := range raw {
			if k != "specVersion" && k != "roles" && k != "components" {
				warnings = append(warnings, fmt.Sprintf("ignored field %q of spec version %s", k, version))
				delete(raw, k)
			}
		}
		if b, err := json.Marshal(raw); err == nil {
			data = b
		}
	}
	var doc IdentityDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, warnings, nil, fail("document-schema", "a member has the wrong type: %v", err)
	}
	if err := ValidateJSON("identity.schema.json", data); err != nil {
		where, msg := schemaErrorDetail(err)
		return &doc, warnings, &Problem{Check: "document-schema", Msg: fmt.Sprintf("%s: %s", "/"+strings.Join(where, "/"), msg)}, nil
	}
	return &doc, warnings, nil, nil
}

// The identity document and manifest are encoded from copies whose struct
// fields are in the order of their JSON names (sortedDocument,
// sortedManifest): the same JSON values, so the same canonical bytes, but
// encoding/json then usually writes the canonical form itself, which
// Canonicalize recognises in one pass instead of transforming it (for
// 10,000 components that transform took most of BuildIdentity's time and
// memory). A value it does not write canonically (a name with a character
// that RFC 8785 escapes differently, a number out of range) is still
// transformed.

// sortedEntry is ComponentEntry with its fields in JSON name order.
type sortedEntry struct {
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	Name      string        `json:"name"`
	Role      string        `json:"role"`
	Size      int64         `json:"size"`
}

// sortedDoc is IdentityDocument with its fields in JSON name order.
type sortedDoc struct {
	Components  []sortedEntry     `json:"components"`
	Roles       map[string]string `json:"roles"`
	SpecVersion string            `json:"specVersion"`
}

func sortedDocument(d IdentityDocument) sortedDoc {
	out := sortedDoc{Roles: d.Roles, SpecVersion: d.SpecVersion}
	if d.Components != nil {
		out.Components = make([]sortedEntry, len(d.Components))
		for i, c := range d.Components {
			out.Components[i] = sortedEntry{Digest: c.Digest, MediaType: c.MediaType, Name: c.Name, Role: c.Role, Size: c.Size}
		}
	}
	return out
}

// sortedDesc is ocispec.Descriptor with its fields in JSON name order.
type sortedDesc struct {
	Annotations  map[string]string `json:"annotations,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Data         []byte            `json:"data,omitempty"`
	Digest       digest.Digest     `json:"digest"`
	MediaType    string            `json:"mediaType"`
	Platform     *ocispec.Platform `json:"platform,omitempty"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
}

// sortedMan is ocispec.Manifest with its fields in JSON name order.
type sortedMan struct {
	Annotations   map[string]string `json:"annotations,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        sortedDesc        `json:"config"`
	Layers        []sortedDesc      `json:"layers"`
	MediaType     string            `json:"mediaType,omitempty"`
	SchemaVersion int               `json:"schemaVersion"`
	Subject       *sortedDesc       `json:"subject,omitempty"`
}

func sortedDescriptor(d ocispec.Descriptor) sortedDesc {
	return sortedDesc{Annotations: d.Annotations, ArtifactType: d.ArtifactType, Data: d.Data, Digest: d.Digest,
		MediaType: d.MediaType, Platform: d.Platform, Size: d.Size, URLs: d.URLs}
}

func sortedManifest(m ocispec.Manifest) sortedMan {
	out := sortedMan{Annotations: m.Annotations, ArtifactType: m.ArtifactType, Config: sortedDescriptor(m.Config),
		MediaType: m.MediaType, SchemaVersion: m.SchemaVersion}
	if m.Layers != nil {
		out.Layers = make([]sortedDesc, len(m.Layers))
		for i, l := range m.Layers {
			out.Layers[i] = sortedDescriptor(l)
		}
	}
	if m.Subject != nil {
		s := sortedDescriptor(*m.Subject)
		out.Subject = &s
	}
	return out
}
