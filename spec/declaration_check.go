package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/runid/runid-oci/mediatype"
)

// CheckDeclaration checks a declaration built in memory, rather than
// parsed, against the rules of spec/SPEC.md §4 that ParseDeclaration applies
// to the declaration's value: roles known and in canonical order, every core
// role accounted for, a role either none or one or more components, valid
// and unique logical names, one source per component, and formats the role
// allows. Errors are *FieldError values naming file (used in messages only)
// and each component's Field; they wrap the same sentinels as
// ParseDeclaration's for the same mistake.
func CheckDeclaration(file string, d *Declaration) error {
	fe := func(field string, line int, err error, format string, a ...any) error {
		return &FieldError{File: file, Field: field, Line: line, Msg: fmt.Sprintf(format, a...), Err: err}
	}
	for i, r := range d.Roles {
		if err := ValidateRole(r.Role); err != nil {
			return fe("roles."+r.Role, 0, ErrUnknownRole, "%v", err)
		}
		if i > 0 && !RoleOrderLess(d.Roles[i-1].Role, r.Role) {
			return fe("roles."+r.Role, 0, ErrInvalidDeclaration, "role after %q: roles are unique and in canonical order (spec/SPEC.md §5.5)", d.Roles[i-1].Role)
		}
	}
	for _, r := range mediatype.CoreRoles() {
		if !slices.ContainsFunc(d.Roles, func(rd RoleDeclaration) bool { return rd.Role == r }) {
			return fe("roles."+r, 0, ErrMissingRole,
				"core role %q is not declared; every core role must be accounted for. If this run had no %s, declare it explicitly: `%s: none`",
				r, r, r)
		}
	}
	// Names first, as ParseDeclaration reports a bad name before a bad
	// format.
	for _, r := range d.Roles {
		field := "roles." + r.Role
		switch {
		case r.None && len(r.Components) > 0:
			return fe(field, 0, ErrInvalidDeclaration, "none, with %d component(s); a role is one or the other", len(r.Components))
		case !r.None && len(r.Components) == 0:
			return fe(field, 0, ErrInvalidDeclaration, "empty list; if this run had no %s, write `%s: none`", r.Role, r.Role)
		}
		for i, c := range r.Components {
			if err := ValidateName(c.Name); err != nil {
				return fe(componentField(c, field, i)+".name", c.Line, ErrInvalidName, "%s", strings.TrimPrefix(err.Error(), ErrInvalidName.Error()+" "))
			}
		}
	}
	names := map[string]string{}
	for _, r := range d.Roles {
		field := "roles." + r.Role
		for i, c := range r.Components {
			cf := componentField(c, field, i)
			n := 0
			for _, set := range []bool{c.File != "", c.Inline != nil, c.Text != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				return fe(cf, c.Line, ErrInvalidDeclaration, "has %d of file, inline and text; give exactly one", n)
			}
			switch {
			case c.Role != r.Role:
				return fe(cf, c.Line, ErrInvalidDeclaration, "component of role %q listed under role %q", c.Role, r.Role)
			case c.File != "" && (strings.ContainsRune(c.File, 0) || !LocalFilePath(c.File)):
				return fe(cf+".file", c.Line, ErrInvalidDeclaration, "%q is not a relative path inside the declaration's directory", c.File)
			case c.Text != nil && c.Format != mediatype.FormatText:
				return fe(cf+".format", c.Line, ErrInvalidFormat, "a text component has format text, not %q", c.Format)
			case c.Inline != nil && c.Format != mediatype.FormatJSON:
				return fe(cf+".format", c.Line, ErrInvalidFormat, "an inline component has format json, not %q", c.Format)
			case !slices.Contains(mediatype.AllowedFormats(r.Role), c.Format):
				return fe(cf+".format", c.Line, ErrInvalidFormat, "role %s takes %s, not %s",
					r.Role, strings.Join(mediatype.AllowedFormats(r.Role), " or "), c.Format)
			}
			key := NameKey(c.Name)
			if prev, dup := names[key]; dup {
				return fe(cf+".name", c.Line, ErrDuplicateName,
					"%q is already the name of %s; logical names must be unique in an identity (letter case ignored)", c.Name, prev)
			}
			names[key] = cf
		}
	}
	if a, b, ok := NameConflict(d.Components(), func(c ComponentDeclaration) string { return c.Name }); ok {
		return fe(b.Field+".name", b.Line, ErrDuplicateName,
			"%q is a folder of %q (%s); one name cannot be both a file and a folder", a.Name, b.Name, a.Field)
	}
	return nil
}

// componentField is a component's Field, or its place in the role when
// the declaration that was built in memory gave none.
func componentField(c ComponentDeclaration, roleField string, i int) string {
	if c.Field != "" {
		return c.Field
	}
	return fmt.Sprintf("%s[%d]", roleField, i)
}
