package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/runid/runid-oci/mediatype"
)

// The rules of spec/SPEC.md §4 on a declaration's roles and components,
// each checked in one function below. ParseDeclaration applies them to the
// value it parsed from text, CheckDeclaration to a declaration built in
// memory; the two differ only in how they reach the values and in the
// field and line they point at, so both refuse the same mistakes with the
// same sentinel and message.

// violation is a broken rule: the sentinel, the field below the role or
// component it concerns ("" for the role or component itself), and what
// is wrong and what would be valid.
type violation struct {
	sub string
	err error
	msg string
}

// at places v in file at field (the role's or component's path) and line.
func (v *violation) at(file, field string, line int) *FieldError {
	if v.sub != "" {
		field += "." + v.sub
	}
	return &FieldError{File: file, Field: field, Line: line, Msg: v.msg, Err: v.err}
}

// ruleRole: a role is a core role or a reverse-DNS extension role (§4.1).
func ruleRole(role string) *violation {
	if err := ValidateRole(role); err != nil {
		return &violation{err: ErrUnknownRole, msg: err.Error()}
	}
	return nil
}

// ruleCoreRoles: every core role is accounted for (§4.1). It returns the
// first core role that declared does not report, with its violation.
func ruleCoreRoles(declared func(role string) bool) (string, *violation) {
	for _, r := range mediatype.CoreRoles() {
		if !declared(r) {
			return r, &violation{err: ErrMissingRole, msg: fmt.Sprintf(
				"core role %q is not declared; every core role must be accounted for. If this run had no %s, declare it explicitly: `%s: none`",
				r, r, r)}
		}
	}
	return "", nil
}

// ruleRoleNotEmpty: a role that is not none lists at least one component.
func ruleRoleNotEmpty(role string, components int) *violation {
	if components == 0 {
		return &violation{err: ErrInvalidDeclaration, msg: fmt.Sprintf("empty list; if this run had no %s, write `%s: none`", role, role)}
	}
	return nil
}

// ruleName: a logical name follows §4.2.
func ruleName(name string) *violation {
	if err := ValidateName(name); err != nil {
		return &violation{sub: "name", err: ErrInvalidName, msg: strings.TrimPrefix(err.Error(), ErrInvalidName.Error()+" ")}
	}
	return nil
}

// ruleOneSource: a component has exactly one of file, inline and text;
// sources is how many it has.
func ruleOneSource(sources int) *violation {
	if sources != 1 {
		return &violation{err: ErrInvalidDeclaration, msg: fmt.Sprintf("has %d of file, inline and text; give exactly one", sources)}
	}
	return nil
}

// ruleFile: a file path is relative and stays inside the declaration's
// directory (§4.3).
func ruleFile(file string) *violation {
	switch {
	case strings.ContainsRune(file, 0):
		return &violation{sub: "file", err: ErrInvalidDeclaration, msg: "path contains a NUL character"}
	case !LocalFilePath(file):
		return &violation{sub: "file", err: ErrInvalidDeclaration, msg: fmt.Sprintf("%q is not a relative path inside the declaration's directory", file)}
	}
	return nil
}

// ruleFormatKnown: a format is one of those of §4.3.
func ruleFormatKnown(format string) *violation {
	if !slices.Contains(mediatype.Formats(), format) {
		return &violation{sub: "format", err: ErrInvalidDeclaration, msg: fmt.Sprintf(
			"%q is not a format; a format is %s", format, strings.Join(mediatype.Formats(), ", "))}
	}
	return nil
}

// ruleFormat: a text component has format text, an inline one json, and
// every component a format its role allows (§4.3). c.Format is the
// resolved format: as written, or the default of the component's kind.
func ruleFormat(role string, c ComponentDeclaration) *violation {
	bad := func(format string, a ...any) *violation {
		return &violation{sub: "format", err: ErrInvalidFormat, msg: fmt.Sprintf(format, a...)}
	}
	switch {
	case c.Text != nil && c.Format != mediatype.FormatText:
		return bad("a text component has format text, not %q", c.Format)
	case c.Inline != nil && c.Format != mediatype.FormatJSON:
		return bad("an inline component has format json, not %q", c.Format)
	case !slices.Contains(mediatype.AllowedFormats(role), c.Format):
		return bad("role %s takes %s, not %s", role, strings.Join(mediatype.AllowedFormats(role), " or "), c.Format)
	}
	return nil
}

// nameSet holds the logical names seen so far, by NameKey, with the field
// of the component that has each.
type nameSet map[string]string

// add is the rule that logical names are unique in an identity, letter
// case ignored (§4.2): it notes name at field, or reports it taken.
func (s nameSet) add(name, field string) *violation {
	key := NameKey(name)
	if prev, dup := s[key]; dup {
		return &violation{sub: "name", err: ErrDuplicateName, msg: fmt.Sprintf(
			"%q is already the name of %s; logical names must be unique in an identity (letter case ignored)", name, prev)}
	}
	s[key] = field
	return nil
}

// checkNameConflict is the rule that no logical name is a folder of
// another (§4.2), on a declaration's components.
func checkNameConflict(file string, d *Declaration) error {
	if a, b, ok := NameConflict(d.Components(), func(c ComponentDeclaration) string { return c.Name }); ok {
		return (&violation{sub: "name", err: ErrDuplicateName, msg: fmt.Sprintf(
			"%q is a folder of %q (%s); one name cannot be both a file and a folder", a.Name, b.Name, a.Field)}).at(file, b.Field, b.Line)
	}
	return nil
}
