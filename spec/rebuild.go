package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/runid/runid-oci/mediatype"
)

// RebuildDeclaration writes a declaration (spec/SPEC.md §4) that builds to
// the identity whose document is doc, when every component's bytes are in
// a file at its logical name in the declaration's directory: each role in
// canonical order, none or its components in identity order, each as
// name, file (the name) and format. A withheld component is declared
// withheld with the format of its disclosed media type, which
// withheldMediaTypes gives by component name (its commitment document
// holds it); it builds to the same identity only with its file in place
// and the owner's withhold secret.
func RebuildDeclaration(doc IdentityDocument, withheldMediaTypes map[string]string) ([]byte, error) {
	roles := make([]string, 0, len(doc.Roles))
	for r := range doc.Roles {
		roles = append(roles, r)
	}
	slices.SortFunc(roles, func(a, b string) int {
		switch {
		case RoleOrderLess(a, b):
			return -1
		case RoleOrderLess(b, a):
			return 1
		}
		return 0
	})
	byRole := map[string][]ComponentEntry{}
	for _, c := range doc.Components {
		byRole[c.Role] = append(byRole[c.Role], c)
	}
	var b bytes.Buffer
	b.WriteString("# Rebuilt from the identity: each component is the file at its name.\n")
	fmt.Fprintf(&b, "runid: %q\nroles:\n", DeclarationVersion)
	for _, r := range roles {
		comps := byRole[r]
		if len(comps) == 0 {
			fmt.Fprintf(&b, "  %s: none\n", quoted(r))
			continue
		}
		fmt.Fprintf(&b, "  %s:\n", quoted(r))
		for _, c := range comps {
			mt := c.MediaType
			if c.Withheld() {
				if mt = withheldMediaTypes[c.Name]; mt == "" {
					return nil, fmt.Errorf("%w: withheld component %q: no disclosed media type given", ErrInvalidDeclaration, c.Name)
				}
			}
			_, format, ok := mediatype.ParseComponent(mt)
			if !ok {
				return nil, fmt.Errorf("%w: component %q: media type %q is not a component's", ErrInvalidDeclaration, c.Name, mt)
			}
			fmt.Fprintf(&b, "    - name: %s\n      file: %s\n      format: %s\n", quoted(c.Name), quoted(c.Name), format)
			if c.Withheld() {
				b.WriteString("      withheld: true\n")
			}
		}
	}
	return b.Bytes(), nil
}

// quoted writes s as a YAML double-quoted scalar: JSON's string syntax,
// which YAML's double-quoted style accepts as it is.
func quoted(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
