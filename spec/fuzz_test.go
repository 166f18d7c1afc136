package spec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false,
	"rewrite the seed corpora in spec/testdata/fuzz from spec/vectors, testdata/examples, testdata/declarations and testdata/hostile")

// FuzzParseIdentity feeds manifest and identity document bytes to
// spec.ParseIdentity. It must never panic; a rejection must be an
// *spec.IdentityError listing at least one problem; and an accepted
// identity must be self-consistent and re-serialize consistently: its
// document round-trips through canonical JSON, and spec.BuildIdentity
// rebuilds the same document (and, for the same manifest structure, the
// same canonical manifest bytes).
func FuzzParseIdentity(f *testing.F) {
	for _, values := range fuzzSeeds(f)["FuzzParseIdentity"] {
		f.Add(values[0], values[1])
	}
	f.Fuzz(func(t *testing.T, manifest, document []byte) {
		id, err := spec.ParseIdentity(manifest, document)
		if err != nil {
			var ie *spec.IdentityError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("rejection is not an IdentityError with problems: %v", err)
			}
			if !errors.Is(err, spec.ErrInvalidIdentity) && !errors.Is(err, spec.ErrUnsupportedVersion) {
				t.Fatalf("rejection wraps neither ErrInvalidIdentity nor ErrUnsupportedVersion: %v", err)
			}
			return
		}
		if id.Digest() != digest.FromBytes(manifest) || !bytes.Equal(id.ManifestBytes, manifest) || !bytes.Equal(id.DocumentBytes, document) {
			t.Fatal("accepted identity does not keep its exact bytes")
		}
		comps := id.Document.Components
		if len(id.Manifest.Layers) != len(comps) {
			t.Fatalf("accepted %d layers for %d components", len(id.Manifest.Layers), len(comps))
		}
		keys := map[string]bool{}
		for i, c := range comps {
			if err := spec.ValidateName(c.Name); err != nil {
				t.Fatalf("accepted an invalid name: %v", err)
			}
			if keys[spec.NameKey(c.Name)] {
				t.Fatalf("accepted a duplicate name %q", c.Name)
			}
			keys[spec.NameKey(c.Name)] = true
			if l := id.Manifest.Layers[i]; l.Digest != c.Digest || l.Size != c.Size || l.MediaType != c.MediaType {
				t.Fatalf("accepted layer %d that disagrees with its component", i)
			}
		}
		for _, r := range mediatype.CoreRoles() {
			if _, ok := id.Document.Roles[r]; !ok {
				t.Fatalf("accepted an identity without core role %s", r)
			}
		}

		// The document round-trips through canonical JSON.
		again, err := spec.MarshalCanonical(id.Document)
		if err != nil {
			t.Fatalf("re-serialize the document: %v", err)
		}
		doc2, _, err := spec.ParseIdentityDocument(again)
		if err != nil {
			t.Fatalf("re-serialized document is rejected: %v", err)
		}
		if doc2.SpecVersion != id.Document.SpecVersion || !maps.Equal(doc2.Roles, id.Document.Roles) || !slices.Equal(doc2.Components, comps) {
			t.Fatal("re-serialized document differs")
		}

		// A builder given the same composition builds the same document.
		rebuilt, err := spec.BuildIdentity(slices.Collect(maps.Keys(id.Document.Roles)), slices.Clone(comps))
		if err != nil {
			t.Fatalf("an accepted composition does not build: %v", err)
		}
		if !maps.Equal(rebuilt.Document.Roles, id.Document.Roles) || !slices.Equal(rebuilt.Document.Components, comps) {
			t.Fatal("rebuilt document differs from the accepted one")
		}
		if id.Document.SpecVersion == mediatype.SpecVersion && bytes.Equal(rebuilt.DocumentBytes, document) {
			// Same document bytes: a manifest of the same structure must
			// have the same canonical bytes.
			canon, err := spec.MarshalCanonical(id.Manifest)
			if err != nil {
				t.Fatalf("re-serialize the manifest: %v", err)
			}
			if sameManifest(rebuilt, id) && !bytes.Equal(canon, rebuilt.ManifestBytes) {
				t.Fatal("same manifest structure, other canonical bytes")
			}
		}
	})
}

// sameManifest reports whether two identities' manifests have the same
// structure: config, layers, and no annotations, subject or artifactType
// difference.
func sameManifest(a, b *spec.Identity) bool {
	ma, mb := a.Manifest, b.Manifest
	if ma.MediaType != mb.MediaType || ma.ArtifactType != mb.ArtifactType || ma.SchemaVersion != mb.SchemaVersion ||
		len(ma.Annotations) != 0 || len(mb.Annotations) != 0 || ma.Subject != nil || mb.Subject != nil ||
		ma.Config.MediaType != mb.Config.MediaType || ma.Config.Digest != mb.Config.Digest || ma.Config.Size != mb.Config.Size ||
		len(ma.Config.Annotations) != 0 || len(mb.Config.Annotations) != 0 || ma.Config.URLs != nil || mb.Config.URLs != nil ||
		ma.Config.Data != nil || mb.Config.Data != nil || ma.Config.Platform != nil || mb.Config.Platform != nil ||
		ma.Config.ArtifactType != mb.Config.ArtifactType || len(ma.Layers) != len(mb.Layers) {
		return false
	}
	for i := range ma.Layers {
		la, lb := ma.Layers[i], mb.Layers[i]
		if la.MediaType != lb.MediaType || la.Digest != lb.Digest || la.Size != lb.Size || !maps.Equal(la.Annotations, lb.Annotations) ||
			la.URLs != nil || lb.URLs != nil || la.Data != nil || lb.Data != nil || la.Platform != nil || lb.Platform != nil ||
			la.ArtifactType != lb.ArtifactType {
			return false
		}
	}
	return true
}

// FuzzParseDeclaration feeds bytes to spec.ParseDeclaration. It must never
// panic; a rejection must be a *spec.FieldError; an accepted declaration
// must keep every rule of spec/SPEC.md §4 (every core role, canonical role
// order, valid and unique names, formats that fit their roles, canonical
// inline JSON); and one without files or withheld components must build
// with pack.Build, deterministically, into an identity that
// spec.ParseIdentity accepts.
func FuzzParseDeclaration(f *testing.F) {
	for _, values := range fuzzSeeds(f)["FuzzParseDeclaration"] {
		f.Add(values[0])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		decl, err := spec.ParseDeclaration("fuzz.yaml", data)
		if err != nil {
			var fe *spec.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("rejection is not a FieldError: %v (%T)", err, err)
			}
			return
		}
		seen := map[string]bool{}
		for i, r := range decl.Roles {
			if i > 0 && !spec.RoleOrderLess(decl.Roles[i-1].Role, r.Role) {
				t.Fatalf("roles out of canonical order: %s then %s", decl.Roles[i-1].Role, r.Role)
			}
			if err := spec.ValidateRole(r.Role); err != nil {
				t.Fatalf("accepted role: %v", err)
			}
			if r.None != (len(r.Components) == 0) {
				t.Fatalf("role %s: none %v with %d components", r.Role, r.None, len(r.Components))
			}
			seen[r.Role] = true
		}
		for _, r := range mediatype.CoreRoles() {
			if !seen[r] {
				t.Fatalf("accepted a declaration without core role %s", r)
			}
		}
		names := map[string]bool{}
		hasFile, withheld := false, false
		for _, c := range decl.Components() {
			if err := spec.ValidateName(c.Name); err != nil {
				t.Fatalf("accepted name: %v", err)
			}
			if names[spec.NameKey(c.Name)] {
				t.Fatalf("accepted duplicate name %q", c.Name)
			}
			names[spec.NameKey(c.Name)] = true
			if !slices.Contains(mediatype.AllowedFormats(c.Role), c.Format) {
				t.Fatalf("component %q: format %s for role %s", c.Name, c.Format, c.Role)
			}
			n := 0
			if c.File != "" {
				n++
				hasFile = true
			}
			if c.Inline != nil {
				n++
				canon, err := spec.Canonicalize(c.Inline)
				if err != nil || !bytes.Equal(canon, c.Inline) {
					t.Fatalf("component %q: inline JSON is not canonical: %v", c.Name, err)
				}
			}
			if c.Text != nil {
				n++
			}
			if n != 1 {
				t.Fatalf("component %q has %d sources", c.Name, n)
			}
			withheld = withheld || c.Withheld
		}
		if hasFile || withheld {
			return
		}
		a, err := pack.Build(t.Context(), decl, "", pack.BuildOptions{Concurrency: 1})
		if err != nil {
			t.Fatalf("an accepted declaration without files does not build: %v", err)
		}
		b, err := pack.Build(t.Context(), decl, "", pack.BuildOptions{Concurrency: 1})
		if err != nil || b.Digest() != a.Digest() {
			t.Fatalf("building twice: %v, %s then %s", err, a.Digest(), b.Digest())
		}
		if _, err := spec.ParseIdentity(a.Identity.ManifestBytes, a.Identity.DocumentBytes); err != nil {
			t.Fatalf("a built identity is rejected: %v", err)
		}
	})
}

// fuzzSeeds lists the seed inputs of each fuzz target, by corpus file
// name: every test vector, example, bad declaration and hostile identity
// in the repository now. The targets add them with f.Add, so a new vector
// is a seed at once; spec/testdata/fuzz holds them as committed files.
func fuzzSeeds(t testing.TB) map[string]map[string][][]byte {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	glob := func(pattern string) []string {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(m)
		return m
	}
	ident := map[string][][]byte{}
	decls := map[string][][]byte{}
	for _, dir := range glob("vectors/*/manifest.json") {
		dir = filepath.Dir(dir)
		name := "vector-" + filepath.Base(dir)
		ident[name] = [][]byte{read(filepath.Join(dir, "manifest.json")), read(filepath.Join(dir, "identity.json"))}
		decls[name] = [][]byte{read(filepath.Join(dir, "runid.yaml"))}
	}
	for _, p := range glob("../testdata/hostile/*.json") {
		var hc struct{ Manifest, Document string }
		if err := json.Unmarshal(read(p), &hc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		ident["hostile-"+strings.TrimSuffix(filepath.Base(p), ".json")] = [][]byte{[]byte(hc.Manifest), []byte(hc.Document)}
	}
	for _, p := range glob("../testdata/examples/*/runid.yaml") {
		decls["example-"+filepath.Base(filepath.Dir(p))] = [][]byte{read(p)}
	}
	for _, p := range append(glob("../testdata/declarations/bad/*.yaml"), glob("../testdata/declarations/bad/*.json")...) {
		if filepath.Base(p) == "cases.json" {
			continue
		}
		decls["bad-"+strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))] = [][]byte{read(p)}
	}
	for _, p := range glob("../testdata/declarations/bad/*/runid.yaml") {
		decls["bad-"+filepath.Base(filepath.Dir(p))] = [][]byte{read(p)}
	}
	return map[string]map[string][][]byte{"FuzzParseIdentity": ident, "FuzzParseDeclaration": decls}
}

// encodeCorpus writes values in the "go test fuzz v1" corpus file format.
func encodeCorpus(values [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		fmt.Fprintf(&b, "[]byte(%q)\n", v)
	}
	return b.Bytes()
}

// TestFuzzCorpus checks that every file in spec/testdata/fuzz is the
// current encoding of its source, and that no source has gone; with
// -update-fuzz-corpus it writes a file for every source. (A source added
// since is seeded by f.Add and only logged here.)
func TestFuzzCorpus(t *testing.T) {
	for target, seeds := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if len(seeds) == 0 {
			t.Fatalf("%s: no seeds found", target)
		}
		if *updateFuzzCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, values := range seeds {
				if err := os.WriteFile(filepath.Join(dir, name), encodeCorpus(values), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Fatalf("%s: no committed corpus: %v", dir, err)
		}
		committed := map[string]bool{}
		for _, e := range entries {
			committed[e.Name()] = true
			values, ok := seeds[e.Name()]
			if !ok {
				if !strings.HasPrefix(e.Name(), "vector-") && !strings.HasPrefix(e.Name(), "hostile-") &&
					!strings.HasPrefix(e.Name(), "example-") && !strings.HasPrefix(e.Name(), "bad-") {
					continue // a crasher or a hand-written seed
				}
				t.Errorf("%s/%s: its source is gone (go test ./spec -run TestFuzzCorpus -update-fuzz-corpus, then remove it)", dir, e.Name())
				continue
			}
			got, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil || !bytes.Equal(got, encodeCorpus(values)) {
				t.Errorf("%s/%s is out of date (go test ./spec -run TestFuzzCorpus -update-fuzz-corpus): %v", dir, e.Name(), err)
			}
		}
		for name := range seeds {
			if !committed[name] {
				t.Logf("%s: no committed seed for %s yet (seeded with f.Add)", dir, name)
			}
		}
	}
}
