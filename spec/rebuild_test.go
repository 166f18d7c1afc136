package spec_test

import (
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// TestRebuildDeclaration: the rebuilt declaration parses back to the
// roles, names, formats and withheld flags of the identity document, with
// each component's file at its name, and an awkward name survives quoting.
func TestRebuildDeclaration(t *testing.T) {
	d := digest.FromString("x")
	doc := spec.IdentityDocument{
		SpecVersion: "1.0",
		Roles: map[string]string{"model": "present", "parameters": "present", "system-prompt": "withheld", "tools": "none",
			"context": "present", "input": "present", "config": "none", "runtime": "none", "com.example.x": "present"},
		Components: []spec.ComponentEntry{
			{Role: "model", Name: "model.json", MediaType: mediatype.Component("model", "json"), Digest: d, Size: 1},
			{Role: "parameters", Name: "parameters.json", MediaType: mediatype.Component("parameters", "json"), Digest: d, Size: 1},
			{Role: "system-prompt", Name: "prompts/sys.md", MediaType: mediatype.Withheld, Digest: d, Size: 1},
			{Role: "context", Name: `docs/it's #1 é & [ok] {x}.bin`, MediaType: mediatype.Component("context", "binary"), Digest: d, Size: 1},
			{Role: "context", Name: "docs/b.txt", MediaType: mediatype.Component("context", "text"), Digest: d, Size: 1},
			{Role: "input", Name: "input/q.txt", MediaType: mediatype.Component("input", "text"), Digest: d, Size: 1},
			{Role: "com.example.x", Name: "x.json", MediaType: mediatype.Component("extension", "json"), Digest: d, Size: 1},
		},
	}
	data, err := spec.RebuildDeclaration(doc, map[string]string{"prompts/sys.md": mediatype.Component("system-prompt", "text")})
	if err != nil {
		t.Fatal(err)
	}
	decl, err := spec.ParseDeclaration("runid.yaml", data)
	if err != nil {
		t.Fatalf("the rebuilt declaration does not parse: %v\n%s", err, data)
	}
	got := decl.Components()
	if len(got) != len(doc.Components) {
		t.Fatalf("%d components, want %d\n%s", len(got), len(doc.Components), data)
	}
	for i, c := range doc.Components {
		_, wantFormat, _ := mediatype.ParseComponent(c.MediaType)
		if c.Withheld() {
			wantFormat = "text"
		}
		g := got[i]
		if g.Role != c.Role || g.Name != c.Name || g.File != c.Name || g.Format != wantFormat || g.Withheld != c.Withheld() {
			t.Errorf("component %d = %+v, want role %s name/file %q format %s withheld %v", i, g, c.Role, c.Name, wantFormat, c.Withheld())
		}
	}
	for _, r := range decl.Roles {
		if r.None != (doc.Roles[r.Role] == "none") {
			t.Errorf("role %s: none = %v, state %s", r.Role, r.None, doc.Roles[r.Role])
		}
	}

	if _, err := spec.RebuildDeclaration(doc, nil); !errors.Is(err, spec.ErrInvalidDeclaration) {
		t.Errorf("a withheld component without its media type: %v, want ErrInvalidDeclaration", err)
	}
}
