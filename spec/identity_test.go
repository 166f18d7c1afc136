package spec_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

func entry(role, name, format, content string) spec.ComponentEntry {
	return spec.ComponentEntry{Role: role, Name: name, MediaType: mediatype.Component(role, format),
		Digest: digest.FromString(content), Size: int64(len(content))}
}

func sampleIdentity(t *testing.T) *spec.Identity {
	t.Helper()
	comps := []spec.ComponentEntry{
		entry("model", "model.json", "json", `{"name":"m"}`),
		entry("system-prompt", "system.md", "text", "Be brief."),
		entry("context", "docs/a.md", "text", "A"),
		entry("context", "docs/b.md", "text", "B"),
		entry("com.example.policy", "policy.yaml", "yaml", "x: 1\n"),
	}
	roles := append(mediatype.CoreRoles(), "com.example.policy")
	id, err := spec.BuildIdentity(roles, comps)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// reencode rebuilds manifest and document bytes after mutating them.
func reencode(t *testing.T, m ocispec.Manifest, doc any) ([]byte, []byte) {
	t.Helper()
	docBytes, err := spec.MarshalCanonical(doc)
	if err != nil {
		t.Fatal(err)
	}
	m.Config.Digest, m.Config.Size = digest.FromBytes(docBytes), int64(len(docBytes))
	mb, err := spec.MarshalCanonical(m)
	if err != nil {
		t.Fatal(err)
	}
	return mb, docBytes
}

func TestBuildIdentityIsCanonicalAndStable(t *testing.T) {
	a, b := sampleIdentity(t), sampleIdentity(t)
	if a.Digest() != b.Digest() {
		t.Fatal("same composition, different digests")
	}
	canon, err := spec.Canonicalize(a.ManifestBytes)
	if err != nil || string(canon) != string(a.ManifestBytes) {
		t.Fatal("manifest bytes are not canonical")
	}
	if a.Document.Roles["tools"] != mediatype.StateNone || a.Document.Roles["context"] != mediatype.StatePresent {
		t.Fatalf("role states: %v", a.Document.Roles)
	}
	if _, ok := a.Manifest.Annotations[mediatype.AnnotationCreated]; ok {
		t.Fatal("identity manifest has a created annotation")
	}
}

func TestParseIdentityProblems(t *testing.T) {
	base := sampleIdentity(t)
	type docT = map[string]any
	tests := []struct {
		name   string
		mutate func(m *ocispec.Manifest, doc docT)
		check  string
	}{
		{"wrong artifactType", func(m *ocispec.Manifest, _ docT) { m.ArtifactType = "application/x" }, "artifact-type"},
		{"wrong media type", func(m *ocispec.Manifest, _ docT) { m.MediaType = ocispec.MediaTypeImageIndex }, "manifest-media-type"},
		{"created annotation", func(m *ocispec.Manifest, _ docT) {
			m.Annotations = map[string]string{mediatype.AnnotationCreated: "2026-01-01T00:00:00Z"}
		}, "no-created"},
		{"subject", func(m *ocispec.Manifest, _ docT) {
			m.Subject = &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("x"), Size: 1}
		}, "no-subject"},
		{"core role missing", func(_ *ocispec.Manifest, d docT) { delete(d["roles"].(docT), "tools") }, "role-accounted"},
		{"role state lies", func(_ *ocispec.Manifest, d docT) { d["roles"].(docT)["context"] = "none" }, "role-state"},
		{"layer disagrees", func(m *ocispec.Manifest, _ docT) { m.Layers[1].Digest = digest.FromString("other") }, "layers-match"},
		{"title disagrees", func(m *ocispec.Manifest, _ docT) {
			m.Layers[2].Annotations = map[string]string{mediatype.AnnotationRole: "context", mediatype.AnnotationTitle: "x.md"}
		}, "layers-match"},
		{"layer missing", func(m *ocispec.Manifest, _ docT) { m.Layers = m.Layers[:2] }, "layers-match"},
		{"unknown media type in core role", func(m *ocispec.Manifest, d docT) {
			m.Layers[1].MediaType = "text/plain"
			d["components"].([]any)[1].(docT)["mediaType"] = "text/plain"
		}, "media-type"},
		{"format not allowed", func(m *ocispec.Manifest, d docT) {
			mt := mediatype.Component("model", "text")
			m.Layers[0].MediaType = mt
			d["components"].([]any)[0].(docT)["mediaType"] = mt
		}, "media-type"},
		{"traversal name", func(m *ocispec.Manifest, d docT) {
			m.Layers[2].Annotations[mediatype.AnnotationTitle] = "../x"
			d["components"].([]any)[2].(docT)["name"] = "../x"
		}, "component-name"},
		{"duplicate name", func(m *ocispec.Manifest, d docT) {
			m.Layers[3].Annotations[mediatype.AnnotationTitle] = "DOCS/A.md"
			d["components"].([]any)[3].(docT)["name"] = "DOCS/A.md"
		}, "component-name"},
		{"order", func(m *ocispec.Manifest, d docT) {
			m.Layers[0], m.Layers[1] = m.Layers[1], m.Layers[0]
			c := d["components"].([]any)
			c[0], c[1] = c[1], c[0]
		}, "component-order"},
		{"unknown role", func(m *ocispec.Manifest, d docT) { d["roles"].(docT)["foo"] = "none" }, "role-name"}, // the schema fails too; role-name takes precedence (spec/SPEC.md §6.2)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m ocispec.Manifest
			if err := json.Unmarshal(base.ManifestBytes, &m); err != nil {
				t.Fatal(err)
			}
			var doc docT
			if err := json.Unmarshal(base.DocumentBytes, &doc); err != nil {
				t.Fatal(err)
			}
			tc.mutate(&m, doc)
			mb, db := reencode(t, m, doc)
			_, err := spec.ParseIdentity(mb, db)
			var ie *spec.IdentityError
			if !errors.As(err, &ie) || !errors.Is(err, spec.ErrInvalidIdentity) {
				t.Fatalf("got %v, want *IdentityError", err)
			}
			if !slices.ContainsFunc(ie.Problems, func(p spec.Problem) bool { return p.Check == tc.check }) {
				t.Fatalf("problems %v lack check %q", ie.Problems, tc.check)
			}
		})
	}
	t.Run("document bytes differ from config descriptor", func(t *testing.T) {
		_, err := spec.ParseIdentity(base.ManifestBytes, append([]byte(" "), base.DocumentBytes...))
		if !errors.Is(err, spec.ErrInvalidIdentity) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("newer major version", func(t *testing.T) {
		var doc map[string]any
		_ = json.Unmarshal(base.DocumentBytes, &doc)
		doc["specVersion"] = "2.0"
		var m ocispec.Manifest
		_ = json.Unmarshal(base.ManifestBytes, &m)
		mb, db := reencode(t, m, doc)
		if _, err := spec.ParseIdentity(mb, db); !errors.Is(err, spec.ErrUnsupportedVersion) {
			t.Fatalf("got %v, want ErrUnsupportedVersion", err)
		}
	})
	t.Run("newer minor version ignores unknown fields with a warning", func(t *testing.T) {
		var doc map[string]any
		_ = json.Unmarshal(base.DocumentBytes, &doc)
		doc["specVersion"] = "1.3"
		doc["futureField"] = true
		var m ocispec.Manifest
		_ = json.Unmarshal(base.ManifestBytes, &m)
		mb, db := reencode(t, m, doc)
		id, err := spec.ParseIdentity(mb, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(id.Warnings) != 1 {
			t.Fatalf("warnings: %v", id.Warnings)
		}
	})
	t.Run("unknown field in 1.0 is an error", func(t *testing.T) {
		var doc map[string]any
		_ = json.Unmarshal(base.DocumentBytes, &doc)
		doc["futureField"] = true
		var m ocispec.Manifest
		_ = json.Unmarshal(base.ManifestBytes, &m)
		mb, db := reencode(t, m, doc)
		if _, err := spec.ParseIdentity(mb, db); !errors.Is(err, spec.ErrInvalidIdentity) {
			t.Fatalf("got %v", err)
		}
	})
}

// BuildIdentity checks what it builds as typed values instead of parsing
// its own bytes again: what it returns must still be what ParseIdentity
// (which applies the identity schema) accepts, and what it rejects must be
// what ParseIdentity rejects, with the same problems.
func TestBuildIdentitySchema(t *testing.T) {
	id := sampleIdentity(t)
	if err := spec.ValidateJSON("identity.schema.json", id.DocumentBytes); err != nil {
		t.Fatalf("built document fails the schema: %v", err)
	}
	back, err := spec.ParseIdentity(id.ManifestBytes, id.DocumentBytes)
	if err != nil {
		t.Fatalf("ParseIdentity rejects a built identity: %v", err)
	}
	if back.Digest() != id.Digest() || !slices.Equal(back.Document.Components, id.Document.Components) {
		t.Fatal("ParseIdentity reads a built identity differently")
	}
	withheld := entry("context", "docs/c.md", "text", "C")
	withheld.MediaType = mediatype.Withheld
	bad := map[string][]spec.ComponentEntry{
		"duplicate name": {entry("context", "a.md", "text", "A"), entry("context", "A.md", "text", "B")},
		"role order":     {entry("context", "a.md", "text", "A"), entry("model", "m.json", "json", "{}")},
		"bad digest":     {{Role: "context", Name: "a.md", MediaType: mediatype.Component("context", "text"), Digest: "sha256:00", Size: 1}},
		"wrong media":    {entry("system-prompt", "a.bin", "binary", "A")},
		"media of role":  {{Role: "tools", Name: "t.json", MediaType: mediatype.Component("context", "json"), Digest: digest.FromString("x"), Size: 1}},
		"negative size":  {{Role: "context", Name: "a.md", MediaType: mediatype.Component("context", "text"), Digest: digest.FromString("x"), Size: -1}},
		"folder clash":   {entry("context", "a", "text", "A"), entry("context", "a/b.md", "text", "B")},
		"bad name":       {entry("context", "../a.md", "text", "A")},
		"withheld ok":    {withheld},
		"extension ok":   {entry("com.example.x", "x.txt", "text", "A")},
	}
	for name, comps := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := spec.BuildIdentity(mediatype.CoreRoles(), comps)
			if strings.HasSuffix(name, " ok") {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ie *spec.IdentityError
			if !errors.As(err, &ie) || !errors.Is(err, spec.ErrInvalidIdentity) {
				t.Fatalf("BuildIdentity: %v, want an *IdentityError", err)
			}
		})
	}
}
