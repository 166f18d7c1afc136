package spec

import (
	"fmt"
)

// CheckDeclaration checks a declaration built in memory, rather than
// parsed, against the rules of spec/SPEC.md §4 that ParseDeclaration applies
// to the declaration's value, in the same order and with the same errors:
// roles known, every core role accounted for, a role either none or one or
// more components, valid and unique logical names, one source per
// component, file paths inside the declaration's directory, and known
// formats the role allows. Besides, it checks what a parsed declaration cannot break:
// roles unique and in canonical order, a role not both none and listed,
// each component under its own role. Errors are *FieldError values naming
// file (used in messages only) and each component's Field (its place in
// the role when Field is empty) and Line.
func CheckDeclaration(file string, d *Declaration) error {
	for i, r := range d.Roles {
		if v := ruleRole(r.Role); v != nil {
			return v.at(file, "roles."+r.Role, 0)
		}
		if i > 0 && !RoleOrderLess(d.Roles[i-1].Role, r.Role) {
			return &FieldError{File: file, Field: "roles." + r.Role, Err: ErrInvalidDeclaration,
				Msg: fmt.Sprintf("role after %q: roles are unique and in canonical order (spec/SPEC.md §5.5)", d.Roles[i-1].Role)}
		}
	}
	declared := map[string]bool{}
	for _, r := range d.Roles {
		declared[r.Role] = true
	}
	if r, v := ruleCoreRoles(func(r string) bool { return declared[r] }); v != nil {
		return v.at(file, "roles."+r, 0)
	}
	for _, r := range d.Roles {
		field := "roles." + r.Role
		if r.None {
			if len(r.Components) > 0 {
				return &FieldError{File: file, Field: field, Err: ErrInvalidDeclaration,
					Msg: fmt.Sprintf("none, with %d component(s); a role is one or the other", len(r.Components))}
			}
			continue
		}
		if v := ruleRoleNotEmpty(r.Role, len(r.Components)); v != nil {
			return v.at(file, field, 0)
		}
		for i, c := range r.Components {
			n := 0
			for _, set := range []bool{c.File != "", c.Inline != nil, c.Text != nil} {
				if set {
					n++
				}
			}
			cf := componentField(c, field, i)
			if v := ruleName(c.Name); v != nil {
				return v.at(file, cf, c.Line)
			}
			if v := ruleOneSource(n); v != nil {
				return v.at(file, cf, c.Line)
			}
			if v := ruleFormatKnown(c.Format); v != nil {
				return v.at(file, cf, c.Line)
			}
		}
	}
	names := nameSet{}
	for _, r := range d.Roles {
		field := "roles." + r.Role
		for i, c := range r.Components {
			cf := componentField(c, field, i)
			if c.Role != r.Role {
				return &FieldError{File: file, Field: cf, Line: c.Line, Err: ErrInvalidDeclaration,
					Msg: fmt.Sprintf("component of role %q listed under role %q", c.Role, r.Role)}
			}
			if c.File != "" {
				if v := ruleFile(c.File); v != nil {
					return v.at(file, cf, c.Line)
				}
			}
			if v := ruleFormat(r.Role, c); v != nil {
				return v.at(file, cf, c.Line)
			}
		}
		for i, c := range r.Components {
			cf := componentField(c, field, i)
			if v := names.add(c.Name, cf); v != nil {
				return v.at(file, cf, c.Line)
			}
		}
	}
	return checkNameConflict(file, d)
}

// componentField is a component's Field, or its place in the role when
// the declaration that was built in memory gave none.
func componentField(c ComponentDeclaration, roleField string, i int) string {
	if c.Field != "" {
		return c.Field
	}
	return fmt.Sprintf("%s[%d]", roleField, i)
}
