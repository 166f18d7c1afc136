package spec

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/runid/runid-oci/mediatype"
)

// MaxDeclarationSize is the largest declaration file accepted, in bytes
// (spec/SPEC.md §4.1). Component files are not bounded by it.
const MaxDeclarationSize = 1 << 20

// DeclarationVersion is the value of the "runid" field that v1 readers accept.
const DeclarationVersion = "1"

// Declaration is a parsed, validated declaration (spec/SPEC.md §4). Roles are
// in canonical order: the core roles in the order of mediatype.CoreRoles,
// then extension roles sorted by name; the order of roles in the file never
// matters. Components keep their order within a role.
type Declaration struct {
	Roles []RoleDeclaration
}

// RoleDeclaration is one role of a declaration: explicitly none, or one or
// more components.
type RoleDeclaration struct {
	Role       string
	None       bool
	Components []ComponentDeclaration
}

// ComponentDeclaration is one component as declared. Exactly one of File,
// Inline and Text is set.
type ComponentDeclaration struct {
	Role string
	// Name is the logical name, validated by ValidateName.
	Name string
	// Format is the resolved format (explicit, or inferred per spec/SPEC.md §4.3).
	Format string
	// File is the path as written in the declaration, relative to the
	// declaration's directory; resolving and reading it is the caller's job.
	File string
	// Inline is the RFC 8785 canonical JSON of an inline value.
	Inline []byte
	// Text is the content of a text component written in the declaration.
	Text *string
	// Withheld asks for a commitment instead of the content (spec/SPEC.md §7).
	Withheld bool
	// Field is the component's path in the declaration, e.g. roles.tools[1],
	// and Line its line (0 when unknown), for error messages.
	Field string
	Line  int
}

// Source names where a component's bytes come from, for messages: the file
// path, or "inline".
func (c ComponentDeclaration) Source() string {
	if c.File != "" {
		return c.File
	}
	return "inline"
}

// Components returns every component of the declaration in identity order.
func (d *Declaration) Components() []ComponentDeclaration {
	var out []ComponentDeclaration
	for _, r := range d.Roles {
		out = append(out, r.Components...)
	}
	return out
}

// ParseDeclaration parses and validates a declaration (YAML or JSON) against
// spec/schema/declaration.schema.json and the rules of spec/SPEC.md §4. file
// is used in error messages only. Errors are *FieldError values naming the
// file, the field, the line where known, and what would be valid.
func ParseDeclaration(file string, data []byte) (*Declaration, error) {
	fe := func(field string, line int, err error, format string, a ...any) error {
		return &FieldError{File: file, Field: field, Line: line, Msg: fmt.Sprintf(format, a...), Err: err}
	}
	if len(data) > MaxDeclarationSize {
		return nil, fe("", 0, ErrDeclarationTooLarge, "%d bytes, over the limit of %d bytes", len(data), MaxDeclarationSize)
	}
	if te := checkText(data); te != nil {
		return nil, &FieldError{File: file, Line: te.line, Column: te.col, Msg: te.msg, Err: ErrInvalidDeclaration}
	}
	// YAML 1.2 allows a byte order mark at the start of the stream.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if te := checkLayout(data); te != nil {
		return nil, &FieldError{File: file, Line: te.line, Column: te.col, Msg: te.msg, Err: ErrInvalidDeclaration}
	}
	root, loc, err := declarationValue(data)
	if err != nil {
		var ye *yamlValueError
		var se *yamlSyntaxError
		switch {
		case errors.As(err, &se):
			return nil, yamlError(file, se.err)
		case errors.Is(err, errManyDocuments):
			return nil, fe("", 0, ErrInvalidDeclaration, "more than one YAML document; a declaration is one document")
		case errors.As(err, &ye):
			return nil, fe(fieldPath(ye.path), ye.line, ye.err, "%s", ye.msg)
		}
		return nil, fe("", 0, ErrInvalidDeclaration, "%v", err)
	}
	if root == nil {
		return nil, fe("", 0, ErrInvalidDeclaration,
			"empty declaration: write `runid: \"1\"` and a `roles:` map with the eight core roles (%s)",
			strings.Join(mediatype.CoreRoles(), ", "))
	}
	if valueDepth(root) > MaxDeclarationDepth {
		where := deepestPath(root)
		return nil, fe(fieldPath(where), loc.lineOfPath(where), ErrInvalidDeclaration,
			"nested %d levels deep, over the limit of %d", valueDepth(root), MaxDeclarationDepth)
	}
	top, ok := root.(map[string]any)
	if !ok {
		return nil, fe("", 1, ErrInvalidDeclaration, "the declaration must be a map with keys runid and roles")
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if k != "runid" && k != "roles" {
			return nil, fe(k, loc.line(k), ErrInvalidDeclaration, "unknown field; valid top-level fields are runid and roles")
		}
	}
	if v, ok := top["runid"]; !ok {
		return nil, fe("runid", 0, ErrInvalidDeclaration, `missing; write runid: "1"`)
	} else if s, isStr := v.(string); !isStr {
		return nil, fe("runid", loc.line("runid"), ErrInvalidDeclaration, `must be the string "1" (quoted: runid: "1"), not %v`, v)
	} else if s != DeclarationVersion {
		return nil, fe("runid", loc.line("runid"), ErrUnsupportedVersion, "declaration version %q; this reader accepts %q", s, DeclarationVersion)
	}
	rolesV, ok := top["roles"]
	if !ok {
		return nil, fe("roles", 0, ErrInvalidDeclaration, "missing; declare each core role (%s)", strings.Join(mediatype.CoreRoles(), ", "))
	}
	roles, ok := rolesV.(map[string]any)
	if !ok {
		return nil, fe("roles", loc.line("roles"), ErrInvalidDeclaration, "must be a map from role name to its components or none")
	}
	for _, r := range slices.Sorted(maps.Keys(roles)) {
		if v := ruleRole(r); v != nil {
			return nil, v.at(file, "roles."+r, loc.line("roles", r))
		}
	}
	if r, v := ruleCoreRoles(func(r string) bool { _, ok := roles[r]; return ok }); v != nil {
		return nil, v.at(file, "roles."+r, 0)
	}
	if err := precheckComponents(file, roles, loc); err != nil {
		return nil, err
	}
	// Schema validation is the backstop after the checks above, which give
	// the friendlier messages for the common mistakes.
	if err := validateDeclarationSchema(root); err != nil {
		where, msg := schemaErrorDetail(err)
		return nil, fe(fieldPath(where), loc.lineOfPath(where), ErrInvalidDeclaration, "does not match the declaration schema: %s", msg)
	}

	names := nameSet{}
	d := &Declaration{}
	for _, r := range canonicalRoleOrder(roles) {
		rd := RoleDeclaration{Role: r}
		field := "roles." + r
		switch v := roles[r].(type) {
		case string: // schema guarantees "none"
			rd.None = true
		case map[string]any: // shorthand: one inline JSON component
			c, err := inlineComponent(r, r+".json", v)
			if err != nil {
				return nil, fe(field, loc.line("roles", r), ErrInvalidJSON, "%v", err)
			}
			c.Field, c.Line = field, loc.line("roles", r)
			rd.Components = append(rd.Components, c)
		case []any:
			for i, item := range v {
				cf := fmt.Sprintf("%s[%d]", field, i)
				line := loc.line("roles", r, i)
				c, v := parseComponent(r, item.(map[string]any))
				if v != nil {
					if l := loc.line("roles", r, i, v.sub); v.sub != "" && l > 0 {
						line = l
					}
					return nil, v.at(file, cf, line)
				}
				c.Field, c.Line = cf, line
				rd.Components = append(rd.Components, c)
			}
		}
		for _, c := range rd.Components {
			if v := names.add(c.Name, c.Field); v != nil {
				return nil, v.at(file, c.Field, c.Line)
			}
		}
		d.Roles = append(d.Roles, rd)
	}
	if err := checkNameConflict(file, d); err != nil {
		return nil, err
	}
	return d, nil
}

var errManyDocuments = errors.New("more than one YAML document")

// yamlSyntaxError is an error of the YAML parser.
type yamlSyntaxError struct{ err error }

func (e *yamlSyntaxError) Error() string { return e.err.Error() }

// declarationValue parses data into its JSON-model value and a locator of
// its fields. A long list of one-line components is parsed apart
// (parseFlowItems); otherwise, and whenever that does not go as expected,
// the whole text is. The AST takes about 40 times the size of the text (a
// token and a node per scalar and indicator, with their positions): it is
// dropped once the lines that every declaration needs (those of roles and
// components) are noted, and parsed again only if an error needs the line
// of another field.
func declarationValue(data []byte) (any, *locator, error) {
	if root, loc, ok := parseFlowItems(data); ok {
		return root, loc, nil
	}
	astFile, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, nil, &yamlSyntaxError{err}
	}
	if err := yamlDirective(astFile); err != nil {
		return nil, nil, err
	}
	if len(astFile.Docs) > 1 {
		return nil, nil, errManyDocuments
	}
	var root any
	if len(astFile.Docs) == 1 {
		if root, err = toValue(astFile.Docs[0].Body, nil); err != nil {
			return nil, nil, err
		}
	}
	return root, newLocator(astFile, data, root), nil
}

// yamlDirective accepts one directive, %YAML 1.2, before the document
// (the parser gives it as a document of its own, which it removes from
// file); any other directive is an error.
func yamlDirective(file *ast.File) error {
	if len(file.Docs) == 0 {
		return nil
	}
	d, ok := file.Docs[0].Body.(*ast.DirectiveNode)
	if !ok {
		return nil
	}
	line := 0
	if d.Start != nil && d.Start.Position != nil {
		line = d.Start.Position.Line
	}
	if d.Name == nil || d.Name.String() != "YAML" || len(d.Values) != 1 || d.Values[0].String() != "1.2" {
		return &yamlValueError{line: line, err: ErrInvalidDeclaration,
			msg: fmt.Sprintf("directive %s: the only directive a declaration may have is %%YAML 1.2", strings.TrimSpace(d.String()))}
	}
	if len(file.Docs) == 1 {
		return &yamlValueError{line: line, err: ErrInvalidDeclaration, msg: "%YAML 1.2 directive without a document after it"}
	}
	file.Docs = file.Docs[1:]
	return nil
}

// shorthandRoles may be written as a map: one inline JSON component.
var shorthandRoles = []string{mediatype.RoleModel, mediatype.RoleParameters, mediatype.RoleRuntime}

var componentFields = []string{"name", "file", "inline", "text", "format", "withheld"}

// precheckComponents gives precise messages for the common mistakes in a
// component before the schema's generic ones.
func precheckComponents(file string, roles map[string]any, loc *locator) error {
	for _, r := range canonicalRoleOrder(roles) {
		list, ok := roles[r].([]any)
		if !ok {
			switch v := roles[r].(type) {
			case string:
				if v != "none" {
					return &FieldError{File: file, Field: "roles." + r, Line: loc.line("roles", r), Err: ErrInvalidDeclaration,
						Msg: fmt.Sprintf("%q: a role is `none` or a list of components ({name, file|inline|text})", v)}
				}
			case map[string]any:
				if !slices.Contains(shorthandRoles, r) {
					return &FieldError{File: file, Field: "roles." + r, Line: loc.line("roles", r), Err: ErrInvalidDeclaration,
						Msg: fmt.Sprintf("a role is `none` or a list of components ({name, file|inline|text}); the map shorthand is only for %s", strings.Join(shorthandRoles, ", "))}
				}
			default:
				return &FieldError{File: file, Field: "roles." + r, Line: loc.line("roles", r), Err: ErrInvalidDeclaration,
					Msg: "a role is `none` or a list of components ({name, file|inline|text})"}
			}
			continue
		}
		if v := ruleRoleNotEmpty(r, len(list)); v != nil {
			return v.at(file, "roles."+r, loc.line("roles", r))
		}
		for i, item := range list {
			field := fmt.Sprintf("roles.%s[%d]", r, i)
			m, ok := item.(map[string]any)
			if !ok {
				return &FieldError{File: file, Field: field, Line: loc.line("roles", r, i), Err: ErrInvalidDeclaration,
					Msg: "a component is a map with name and one of file, inline or text"}
			}
			for k := range m {
				if !slices.Contains(componentFields, k) {
					return &FieldError{File: file, Field: field + "." + k, Line: loc.line("roles", r, i, k), Err: ErrInvalidDeclaration,
						Msg: "unknown field; a component has " + strings.Join(componentFields, ", ")}
				}
			}
			name, ok := m["name"].(string)
			if !ok {
				return &FieldError{File: file, Field: field + ".name", Line: loc.line("roles", r, i), Err: ErrInvalidDeclaration,
					Msg: "missing or not a string; every component has a logical name"}
			}
			if v := ruleName(name); v != nil {
				return v.at(file, field, loc.line("roles", r, i, "name"))
			}
			n := 0
			for _, k := range []string{"file", "inline", "text"} {
				if _, ok := m[k]; ok {
					n++
				}
			}
			if v := ruleOneSource(n); v != nil {
				return v.at(file, field, loc.line("roles", r, i))
			}
			if f, ok := m["format"].(string); ok {
				if v := ruleFormatKnown(f); v != nil {
					return v.at(file, field, loc.line("roles", r, i, "format"))
				}
			}
			if f, ok := m["file"]; ok {
				if fs, isStr := f.(string); !isStr || fs == "" {
					return &FieldError{File: file, Field: field + ".file", Line: loc.line("roles", r, i, "file"), Err: ErrInvalidDeclaration,
						Msg: "must be a non-empty path relative to the declaration's directory"}
				}
			}
		}
	}
	return nil
}

// parseComponent makes the component of role that the checked map m
// declares, resolving its format, and applies the rules on its file path
// and format.
func parseComponent(role string, m map[string]any) (ComponentDeclaration, *violation) {
	name, _ := m["name"].(string)
	c := ComponentDeclaration{Role: role, Name: name}
	if w, ok := m["withheld"].(bool); ok {
		c.Withheld = w
	}
	explicit, _ := m["format"].(string)
	switch {
	case m["file"] != nil:
		c.File, _ = m["file"].(string)
		if v := ruleFile(c.File); v != nil {
			return c, v
		}
		c.Format = explicit
		if c.Format == "" {
			c.Format = InferFormat(role, name)
		}
	case m["text"] != nil:
		t, _ := m["text"].(string)
		c.Text = &t
		c.Format = cmp.Or(explicit, mediatype.FormatText)
	default:
		inl, err := inlineComponent(role, name, m["inline"])
		if err != nil {
			return c, &violation{sub: "inline", err: ErrInvalidJSON, msg: err.Error()}
		}
		inl.Withheld = c.Withheld
		c = inl
		c.Format = cmp.Or(explicit, mediatype.FormatJSON)
	}
	return c, ruleFormat(role, c)
}

func inlineComponent(role, name string, v any) (ComponentDeclaration, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return ComponentDeclaration{}, err
	}
	canon, err := Canonicalize(raw)
	if err != nil {
		return ComponentDeclaration{}, err
	}
	return ComponentDeclaration{Role: role, Name: name, Format: mediatype.FormatJSON, Inline: canon}, nil
}

// InferFormat gives the format of a file component declared without one
// (spec/SPEC.md §4.3): by the extension of its logical name (.json → json;
// .yaml, .yml → yaml; .txt, .md, .markdown, .prompt, .text → text), and
// otherwise binary where the role allows it, else the first format the
// role allows.
func InferFormat(role, name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".json":
		return mediatype.FormatJSON
	case ".yaml", ".yml":
		return mediatype.FormatYAML
	case ".txt", ".md", ".markdown", ".prompt", ".text":
		return mediatype.FormatText
	}
	if slices.Contains(mediatype.AllowedFormats(role), mediatype.FormatBinary) {
		return mediatype.FormatBinary
	}
	return mediatype.AllowedFormats(role)[0]
}

// canonicalRoleOrder returns the declared roles in canonical order.
func canonicalRoleOrder(roles map[string]any) []string {
	return slices.SortedFunc(maps.Keys(roles), CompareRoles)
}

// CompareRoles orders roles canonically, as RoleOrderLess does, in the
// form slices.SortFunc takes.
func CompareRoles(a, b string) int {
	return cmp.Or(cmp.Compare(coreIndex(a), coreIndex(b)), strings.Compare(a, b))
}

// RoleOrderLess orders roles canonically: core roles in their fixed order,
// then extension roles by byte order (spec/SPEC.md §5.5).
func RoleOrderLess(a, b string) bool {
	ia, ib := coreIndex(a), coreIndex(b)
	if ia != ib {
		return ia < ib
	}
	return a < b
}

func coreIndex(r string) int {
	for i, c := range mediatype.CoreRoles() {
		if c == r {
			return i
		}
	}
	return len(mediatype.CoreRoles())
}

func yamlError(file string, err error) error {
	msg := err.Error()
	line := 0
	if i := strings.Index(msg, "["); i >= 0 {
		if j := strings.Index(msg[i:], ":"); j > 0 {
			line, _ = strconv.Atoi(msg[i+1 : i+j])
		}
	}
	// goccy's messages carry a source excerpt after the first line.
	if k := strings.IndexByte(msg, '\n'); k >= 0 {
		msg = msg[:k]
	}
	return &FieldError{File: file, Line: line, Msg: "not valid YAML or JSON: " + msg, Err: ErrInvalidDeclaration}
}

// locator finds the line of a field in the parsed YAML. The lines of the
// roles and of the components of list roles are noted when it is made
// (they are needed for every declaration); any other line is found in the
// AST, which is parsed again from data the first time one is asked for.
type locator struct {
	data      []byte
	file      *ast.File
	roleLines map[string]int   // "roles", r
	itemLines map[string][]int // "roles", r, i
}

// newLocator notes the lines of the roles and components of root (the
// value of the AST file) and keeps the text to parse again.
func newLocator(file *ast.File, data []byte, root any) *locator {
	l := &locator{file: file, roleLines: map[string]int{}, itemLines: map[string][]int{}}
	if top, ok := root.(map[string]any); ok {
		if roles, ok := top["roles"].(map[string]any); ok {
			for r, v := range roles {
				l.roleLines[r] = l.line("roles", r)
				if list, ok := v.([]any); ok {
					lines := make([]int, len(list))
					for i := range list {
						lines[i] = l.line("roles", r, i)
					}
					l.itemLines[r] = lines
				}
			}
		}
	}
	l.file, l.data = nil, data
	return l
}

func (l *locator) line(path ...any) int {
	if len(path) >= 2 && len(path) <= 3 && l.roleLines != nil && path[0] == "roles" {
		if r, ok := path[1].(string); ok {
			if len(path) == 2 {
				if line, ok := l.roleLines[r]; ok {
					return line
				}
			} else if i, ok := path[2].(int); ok && i >= 0 && i < len(l.itemLines[r]) {
				return l.itemLines[r][i]
			}
		}
	}
	if l.file == nil && l.data != nil {
		l.file, _ = parser.ParseBytes(l.data, 0)
		l.data = nil
	}
	if l.file == nil || len(l.file.Docs) == 0 {
		return 0
	}
	n := l.file.Docs[0].Body
	line := 0
	for _, p := range path {
		if n == nil {
			return line
		}
		switch key := p.(type) {
		case string:
			m, ok := n.(*ast.MappingNode)
			if !ok {
				return line
			}
			var next ast.Node
			for _, mv := range m.Values {
				if k, ok := mv.Key.(*ast.StringNode); ok && k.Value == key {
					line = mv.Key.GetToken().Position.Line
					next = mv.Value
					break
				}
			}
			if next == nil {
				return line
			}
			n = next
		case int:
			s, ok := n.(*ast.SequenceNode)
			if !ok || key >= len(s.Values) {
				return line
			}
			n = s.Values[key]
			line = n.GetToken().Position.Line
		}
	}
	return line
}

// lineOfPath resolves a path of keys and decimal indexes, as a schema
// validator reports it.
func (l *locator) lineOfPath(p []string) int {
	path := make([]any, len(p))
	for i, part := range p {
		if n, err := strconv.Atoi(part); err == nil && isIndex(part) {
			path[i] = n
		} else {
			path[i] = part
		}
	}
	return l.line(path...)
}

// fieldPath renders a path of keys and indexes as roles.tools[1].file.
func fieldPath(p []string) string {
	var b strings.Builder
	for i, part := range p {
		if isIndex(part) {
			fmt.Fprintf(&b, "[%s]", part)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}
