package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// TestCheckDeclarationAcceptsParsed: every declaration that ParseDeclaration
// accepts passes CheckDeclaration.
func TestCheckDeclarationAcceptsParsed(t *testing.T) {
	decls, err := filepath.Glob(filepath.Join(examplesDir, "*", "runid.yaml"))
	if err != nil || len(decls) == 0 {
		t.Fatalf("examples: %v %v", decls, err)
	}
	for _, file := range decls {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		d, err := spec.ParseDeclaration(file, data)
		if err != nil {
			t.Fatal(err)
		}
		if err := spec.CheckDeclaration(file, d); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// TestCheckDeclarationRules: a declaration built in memory that breaks a
// rule fails with the sentinel ParseDeclaration gives for the same mistake,
// naming the field.
func TestCheckDeclarationRules(t *testing.T) {
	valid := func() *spec.Declaration {
		d := &spec.Declaration{}
		for _, r := range mediatype.CoreRoles() {
			d.Roles = append(d.Roles, spec.RoleDeclaration{Role: r, None: true})
		}
		text := "hello"
		d.Roles[4] = spec.RoleDeclaration{Role: mediatype.RoleContext, Components: []spec.ComponentDeclaration{
			{Role: mediatype.RoleContext, Name: "docs/a.md", Format: mediatype.FormatText, File: "docs/a.md", Field: "roles.context[0]"},
			{Role: mediatype.RoleContext, Name: "b.md", Format: mediatype.FormatText, Text: &text, Field: "roles.context[1]"},
		}}
		return d
	}
	if err := spec.CheckDeclaration("mem", valid()); err != nil {
		t.Fatalf("valid declaration: %v", err)
	}
	ctx := func(d *spec.Declaration) *spec.ComponentDeclaration { return &d.Roles[4].Components[0] }
	tests := []struct {
		name   string
		change func(d *spec.Declaration)
		want   error
		field  string
	}{
		{"unknown role", func(d *spec.Declaration) {
			d.Roles = append(d.Roles, spec.RoleDeclaration{Role: "Guardrails", None: true})
		}, spec.ErrUnknownRole, "roles.Guardrails"},
		{"roles out of order", func(d *spec.Declaration) { d.Roles[0], d.Roles[1] = d.Roles[1], d.Roles[0] }, spec.ErrInvalidDeclaration, "roles.model"},
		{"role twice", func(d *spec.Declaration) { d.Roles = append(d.Roles, d.Roles[7]) }, spec.ErrInvalidDeclaration, "roles.runtime"},
		{"missing core role", func(d *spec.Declaration) { d.Roles = slices.Delete(d.Roles, 3, 4) }, spec.ErrMissingRole, "roles.tools"},
		{"none with components", func(d *spec.Declaration) { d.Roles[4].None = true }, spec.ErrInvalidDeclaration, "roles.context"},
		{"empty role", func(d *spec.Declaration) { d.Roles[2].None = false }, spec.ErrInvalidDeclaration, "roles.system-prompt"},
		{"bad name", func(d *spec.Declaration) { ctx(d).Name = "../a.md" }, spec.ErrInvalidName, "roles.context[0].name"},
		{"two sources", func(d *spec.Declaration) { ctx(d).Inline = []byte("{}") }, spec.ErrInvalidDeclaration, "roles.context[0]"},
		{"no source", func(d *spec.Declaration) { ctx(d).File = "" }, spec.ErrInvalidDeclaration, "roles.context[0]"},
		{"file outside", func(d *spec.Declaration) { ctx(d).File = "../a.md" }, spec.ErrInvalidDeclaration, "roles.context[0].file"},
		{"component of another role", func(d *spec.Declaration) { ctx(d).Role = mediatype.RoleInput }, spec.ErrInvalidDeclaration, "roles.context[0]"},
		{"format the role does not take", func(d *spec.Declaration) {
			d.Roles[3] = spec.RoleDeclaration{Role: mediatype.RoleTools, Components: []spec.ComponentDeclaration{
				{Role: mediatype.RoleTools, Name: "t.bin", Format: mediatype.FormatBinary, File: "t.bin"}}}
		}, spec.ErrInvalidFormat, "roles.tools[0].format"},
		{"text not text", func(d *spec.Declaration) { d.Roles[4].Components[1].Format = mediatype.FormatYAML }, spec.ErrInvalidFormat, "roles.context[1].format"},
		{"unknown format", func(d *spec.Declaration) { ctx(d).Format = "xml" }, spec.ErrInvalidDeclaration, "roles.context[0].format"},
		{"duplicate name", func(d *spec.Declaration) { d.Roles[4].Components[1].Name = "DOCS/A.md" }, spec.ErrDuplicateName, "roles.context[1].name"},
		{"name a folder of another", func(d *spec.Declaration) { d.Roles[4].Components[1].Name = "docs" }, spec.ErrDuplicateName, "roles.context[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid()
			tt.change(d)
			err := spec.CheckDeclaration("mem", d)
			if !errors.Is(err, tt.want) {
				t.Fatalf("%v, want %v", err, tt.want)
			}
			var fe *spec.FieldError
			if !errors.As(err, &fe) || fe.File != "mem" || fe.Field != tt.field {
				t.Errorf("%v: want a field error on mem, field %s", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "mem") {
				t.Errorf("message %q does not name the file", err)
			}
		})
	}
}
