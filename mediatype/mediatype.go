// Package mediatype holds the media types, annotation keys and roles of the
// Run Identity specification (spec/SPEC.md) as constants.
//
// It depends on the standard library only, so that any program, including a
// third-party verifier, can import it without pulling in the rest of runid-oci.
// Every name below cites the section of spec/SPEC.md that defines it.
package mediatype

import "strings"

// SpecVersion is the version of the Run Identity specification implemented
// by this package (spec/SPEC.md §1).
const SpecVersion = "1.0"

// Manifest-level types (spec/SPEC.md §5.1).
const (
	// Identity is the artifactType of a run identity manifest.
	Identity = "application/vnd.runid.identity.v1"

	// IdentityDocument is the media type of the config blob of a run
	// identity manifest: the identity document (spec/SPEC.md §5.2).
	IdentityDocument = "application/vnd.runid.identity.v1+json"

	// OutputRecord is the artifactType of an output record: an artifact whose
	// subject is a run identity and whose layers are the run's outputs
	// (spec/SPEC.md §8.1).
	OutputRecord = "application/vnd.runid.output.v1"

	// OutputDocument is the media type of the config blob of an output
	// record: facts of one execution (spec/SPEC.md §8.1).
	OutputDocument = "application/vnd.runid.output.v1+json"

	// Link is the artifactType of a link: an artifact whose subject is an
	// existing artifact and which names the identity that produced it
	// (spec/SPEC.md §8.2).
	Link = "application/vnd.runid.link.v1"

	// LinkDocument is the media type of the config blob of a link
	// (spec/SPEC.md §8.2).
	LinkDocument = "application/vnd.runid.link.v1+json"

	// Withheld is the media type of a component that is represented by a
	// salted commitment instead of its content (spec/SPEC.md §7).
	Withheld = "application/vnd.runid.withheld.v1+json"

	// Output is the media type of an output file carried by an output
	// record when the producer gives none (spec/SPEC.md §8.1).
	Output = "application/vnd.runid.output.file.v1"
)

// Annotation keys (spec/SPEC.md §5.3).
const (
	// AnnotationRole names the role of a component layer.
	AnnotationRole = "dev.runid.role"

	// AnnotationTitle is the OCI pre-defined title annotation; on a
	// component layer it holds the component's logical name.
	AnnotationTitle = "org.opencontainers.image.title"

	// AnnotationCreated is the OCI pre-defined creation-time annotation.
	// It MUST NOT appear on an identity manifest (spec/SPEC.md §6).
	AnnotationCreated = "org.opencontainers.image.created"

	// AnnotationIdentity, on a link manifest, holds the digest of the
	// linked identity (spec/SPEC.md §8.2).
	AnnotationIdentity = "dev.runid.identity"

	// AnnotationIdentityRepository, on a link manifest, holds the
	// repository reference where the linked identity lives (spec/SPEC.md §8.2).
	AnnotationIdentityRepository = "dev.runid.identity.repository"
)

// Role is the name of a part of a run's composition (spec/SPEC.md §3).
type Role = string

// The core roles of v1, in canonical order (spec/SPEC.md §3.1).
const (
	RoleModel        Role = "model"
	RoleParameters   Role = "parameters"
	RoleSystemPrompt Role = "system-prompt"
	RoleTools        Role = "tools"
	RoleContext      Role = "context"
	RoleInput        Role = "input"
	RoleConfig       Role = "config"
	RoleRuntime      Role = "runtime"
)

// CoreRoles returns the core roles in canonical order (spec/SPEC.md §3.1).
func CoreRoles() []Role {
	return []Role{RoleModel, RoleParameters, RoleSystemPrompt, RoleTools,
		RoleContext, RoleInput, RoleConfig, RoleRuntime}
}

// IsCoreRole reports whether r is one of the core roles.
func IsCoreRole(r Role) bool {
	for _, c := range CoreRoles() {
		if c == r {
			return true
		}
	}
	return false
}

// State is how a role is accounted for in an identity (spec/SPEC.md §3.3).
type State = string

// Role states (spec/SPEC.md §3.3).
const (
	// StatePresent: the role has one or more components, at least one disclosed.
	StatePresent State = "present"
	// StateNone: the role was explicitly declared empty.
	StateNone State = "none"
	// StateWithheld: the role has one or more components, all withheld.
	StateWithheld State = "withheld"
)

// Format is the encoding of a component's bytes (spec/SPEC.md §4.3).
type Format = string

// Component formats (spec/SPEC.md §4.3).
const (
	// FormatJSON: a JSON value, canonicalized with RFC 8785 before hashing.
	FormatJSON Format = "json"
	// FormatYAML: YAML text, taken byte for byte.
	FormatYAML Format = "yaml"
	// FormatText: UTF-8 text, taken byte for byte.
	FormatText Format = "text"
	// FormatBinary: any bytes, taken byte for byte.
	FormatBinary Format = "binary"
)

// Formats returns every component format, in a fixed order.
func Formats() []Format {
	return []Format{FormatJSON, FormatYAML, FormatText, FormatBinary}
}

const (
	prefix        = "application/vnd.runid."
	extensionRole = "extension"
)

// Component returns the media type of a disclosed component of the given
// role and format (spec/SPEC.md §5.4). Extension roles share the
// "extension" media types; their role is carried by AnnotationRole.
//
//	json   → application/vnd.runid.<role>.v1+json
//	yaml   → application/vnd.runid.<role>.v1+yaml
//	text   → application/vnd.runid.<role>.v1.text
//	binary → application/vnd.runid.<role>.v1.binary
func Component(role Role, format Format) string {
	r := role
	if !IsCoreRole(role) {
		r = extensionRole
	}
	return componentTypes[[2]string{r, format}] // "" for an unknown format
}

// componentTypes holds every component media type by role and format:
// every component of a role and format shares one string (an identity may
// have tens of thousands of components).
var componentTypes = func() map[[2]string]string {
	m := make(map[[2]string]string)
	for _, r := range append(CoreRoles(), extensionRole) {
		m[[2]string{r, FormatJSON}] = prefix + r + ".v1+json"
		m[[2]string{r, FormatYAML}] = prefix + r + ".v1+yaml"
		m[[2]string{r, FormatText}] = prefix + r + ".v1.text"
		m[[2]string{r, FormatBinary}] = prefix + r + ".v1.binary"
	}
	return m
}()

// ParseComponent splits a component media type into its role (the core role
// name, or "extension") and format. ok is false for any other media type,
// including Withheld.
func ParseComponent(mediaType string) (role string, format Format, ok bool) {
	rest, found := strings.CutPrefix(mediaType, prefix)
	if !found {
		return "", "", false
	}
	var body string
	switch {
	case strings.HasSuffix(rest, ".v1+json"):
		body, format = strings.TrimSuffix(rest, ".v1+json"), FormatJSON
	case strings.HasSuffix(rest, ".v1+yaml"):
		body, format = strings.TrimSuffix(rest, ".v1+yaml"), FormatYAML
	case strings.HasSuffix(rest, ".v1.text"):
		body, format = strings.TrimSuffix(rest, ".v1.text"), FormatText
	case strings.HasSuffix(rest, ".v1.binary"):
		body, format = strings.TrimSuffix(rest, ".v1.binary"), FormatBinary
	default:
		return "", "", false
	}
	if body != extensionRole && !IsCoreRole(body) {
		return "", "", false
	}
	return body, format, true
}

// AllowedFormats returns the formats a component of role may take
// (spec/SPEC.md §4.3). Extension roles allow every format.
func AllowedFormats(role Role) []Format {
	switch role {
	case RoleModel, RoleParameters, RoleTools, RoleRuntime:
		return []Format{FormatJSON}
	case RoleSystemPrompt:
		return []Format{FormatText, FormatJSON}
	case RoleInput:
		return []Format{FormatJSON, FormatText}
	case RoleContext:
		return []Format{FormatText, FormatJSON, FormatYAML, FormatBinary}
	case RoleConfig:
		return []Format{FormatJSON, FormatYAML, FormatText}
	}
	return Formats()
}
