package spec

import (
	"strings"
	"testing"
)

// TestEmbeddedSchemasCompile compiles every embedded schema: each is
// compiled only when a document of its kind is first checked, so a broken
// one would otherwise go unnoticed until then.
func TestEmbeddedSchemasCompile(t *testing.T) {
	entries, err := Schemas.ReadDir("schema")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 7 {
		t.Fatalf("%d embedded schemas, want at least 7", len(entries))
	}
	for _, e := range entries {
		s, err := schema(e.Name())
		if err != nil || s == nil {
			t.Errorf("schema %s: %v", e.Name(), err)
		}
		// The same value on the next use, not a second compilation.
		if again, _ := schema(e.Name()); again != s {
			t.Errorf("schema %s compiled twice", e.Name())
		}
	}
	if _, err := schema("nope.schema.json"); err == nil || !strings.Contains(err.Error(), "no schema nope.schema.json") {
		t.Errorf("unknown schema: %v, want an error naming it", err)
	}
}

// BenchmarkIdentitySchemaFirstUse is the cost of the identity schema's
// compilation, which every command that reads an identity pays once.
func BenchmarkIdentitySchemaFirstUse(b *testing.B) {
	for b.Loop() {
		if _, err := compileSchema("identity.schema.json"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllSchemasFirstUse is what compiling every embedded schema at
// the first use of one would cost.
func BenchmarkAllSchemasFirstUse(b *testing.B) {
	entries, err := Schemas.ReadDir("schema")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, e := range entries {
			if _, err := compileSchema(e.Name()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
