package spec_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// rulesBase is a valid declaration that the cases of
// TestDeclarationRulesBothPaths break, once as text and once in memory.
const rulesBase = `runid: "1"
roles:
  model: none
  parameters: none
  system-prompt: none
  tools: none
  context:
    - {name: docs/a.md, file: docs/a.md}
    - {name: b.md, text: hello}
  input: none
  config: none
  runtime: none
`

// TestDeclarationRulesBothPaths: a mistake written in a declaration file
// (ParseDeclaration) and the same mistake in a declaration built in memory
// (CheckDeclaration) are refused with the same sentinel, field and
// message. The in-memory declaration is the parsed base, changed.
func TestDeclarationRulesBothPaths(t *testing.T) {
	base, err := spec.ParseDeclaration("runid.yaml", []byte(rulesBase))
	if err != nil {
		t.Fatalf("base: %v", err)
	}
	if err := spec.CheckDeclaration("runid.yaml", base); err != nil {
		t.Fatalf("base in memory: %v", err)
	}
	const (
		toolsRole = 3
		ctxRole   = 4
	)
	if base.Roles[toolsRole].Role != mediatype.RoleTools || base.Roles[ctxRole].Role != mediatype.RoleContext {
		t.Fatalf("base roles: %+v", base.Roles)
	}
	comp := func(d *spec.Declaration, i int) *spec.ComponentDeclaration { return &d.Roles[ctxRole].Components[i] }
	tests := []struct {
		name     string
		old, new string // the edit of rulesBase's text
		change   func(d *spec.Declaration)
		want     error
		field    string
	}{
		{"unknown role", "  runtime: none\n", "  runtime: none\n  Guardrails: none\n", func(d *spec.Declaration) {
			d.Roles = append(d.Roles, spec.RoleDeclaration{Role: "Guardrails", None: true})
		}, spec.ErrUnknownRole, "roles.Guardrails"},
		{"missing core role", "  tools: none\n", "", func(d *spec.Declaration) {
			d.Roles = slices.Delete(d.Roles, toolsRole, toolsRole+1)
		}, spec.ErrMissingRole, "roles.tools"},
		{"empty role", "tools: none", "tools: []", func(d *spec.Declaration) {
			d.Roles[toolsRole].None = false
		}, spec.ErrInvalidDeclaration, "roles.tools"},
		{"name outside", "name: docs/a.md", "name: ../a.md", func(d *spec.Declaration) {
			comp(d, 0).Name = "../a.md"
		}, spec.ErrInvalidName, "roles.context[0].name"},
		{"name with a backslash", "name: b.md", `name: "b\\c.md"`, func(d *spec.Declaration) {
			comp(d, 1).Name = `b\c.md`
		}, spec.ErrInvalidName, "roles.context[1].name"},
		{"two sources", "text: hello}", "text: hello, inline: {}}", func(d *spec.Declaration) {
			comp(d, 1).Inline = []byte("{}")
		}, spec.ErrInvalidDeclaration, "roles.context[1]"},
		{"unknown format", "text: hello}", "text: hello, format: markdown}", func(d *spec.Declaration) {
			comp(d, 1).Format = "markdown"
		}, spec.ErrInvalidDeclaration, "roles.context[1].format"},
		{"file outside", "file: docs/a.md", "file: ../a.md", func(d *spec.Declaration) {
			comp(d, 0).File = "../a.md"
		}, spec.ErrInvalidDeclaration, "roles.context[0].file"},
		{"absolute file", "file: docs/a.md", "file: /etc/a.md", func(d *spec.Declaration) {
			comp(d, 0).File = "/etc/a.md"
		}, spec.ErrInvalidDeclaration, "roles.context[0].file"},
		{"file with NUL", "file: docs/a.md", `file: "docs/\0a.md"`, func(d *spec.Declaration) {
			comp(d, 0).File = "docs/\x00a.md"
		}, spec.ErrInvalidDeclaration, "roles.context[0].file"},
		{"text not text", "text: hello}", "text: hello, format: yaml}", func(d *spec.Declaration) {
			comp(d, 1).Format = mediatype.FormatYAML
		}, spec.ErrInvalidFormat, "roles.context[1].format"},
		{"inline not json", "{name: b.md, text: hello}", "{name: b.md, inline: {a: 1}, format: yaml}", func(d *spec.Declaration) {
			c := comp(d, 1)
			c.Text, c.Inline, c.Format = nil, []byte(`{"a":1}`), mediatype.FormatYAML
		}, spec.ErrInvalidFormat, "roles.context[1].format"},
		{"format the role does not take", "tools: none", "tools: [{name: t.md, file: t.md}]", func(d *spec.Declaration) {
			d.Roles[toolsRole] = spec.RoleDeclaration{Role: mediatype.RoleTools, Components: []spec.ComponentDeclaration{
				{Role: mediatype.RoleTools, Name: "t.md", Format: mediatype.FormatText, File: "t.md", Field: "roles.tools[0]"}}}
		}, spec.ErrInvalidFormat, "roles.tools[0].format"},
		{"duplicate name", "name: b.md", "name: DOCS/A.md", func(d *spec.Declaration) {
			comp(d, 1).Name = "DOCS/A.md"
		}, spec.ErrDuplicateName, "roles.context[1].name"},
		{"duplicate name across roles", "tools: none", "tools: [{name: B.MD, inline: {}}]", func(d *spec.Declaration) {
			d.Roles[toolsRole] = spec.RoleDeclaration{Role: mediatype.RoleTools, Components: []spec.ComponentDeclaration{
				{Role: mediatype.RoleTools, Name: "B.MD", Format: mediatype.FormatJSON, Inline: []byte("{}"), Field: "roles.tools[0]"}}}
		}, spec.ErrDuplicateName, "roles.context[1].name"},
		{"name a folder of another", "name: b.md", "name: docs", func(d *spec.Declaration) {
			comp(d, 1).Name = "docs"
		}, spec.ErrDuplicateName, "roles.context[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(rulesBase, tt.old) {
				t.Fatalf("the base has no %q", tt.old)
			}
			_, parseErr := spec.ParseDeclaration("runid.yaml", []byte(strings.Replace(rulesBase, tt.old, tt.new, 1)))
			d, err := spec.ParseDeclaration("runid.yaml", []byte(rulesBase))
			if err != nil {
				t.Fatal(err)
			}
			tt.change(d)
			checkErr := spec.CheckDeclaration("runid.yaml", d)
			for path, err := range map[string]error{"ParseDeclaration": parseErr, "CheckDeclaration": checkErr} {
				var fe *spec.FieldError
				if !errors.Is(err, tt.want) || !errors.As(err, &fe) || fe.File != "runid.yaml" || fe.Field != tt.field {
					t.Errorf("%s: %v; want %v at runid.yaml field %s", path, err, tt.want, tt.field)
				}
			}
			var pe, ce *spec.FieldError
			if errors.As(parseErr, &pe) && errors.As(checkErr, &ce) && (pe.Msg != ce.Msg || pe.Err != ce.Err) {
				t.Errorf("the paths disagree:\n parse: %v\n check: %v", parseErr, checkErr)
			}
		})
	}
}
