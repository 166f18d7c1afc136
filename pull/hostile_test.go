package pull_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

var update = flag.Bool("update", false, "rewrite testdata/hostile from the generators in hostile_test.go")

const hostileDir = "../testdata/hostile"

// hostileCase is a hand-crafted identity, stored as testdata/hostile/<Name>.json
// so that other tests (the CLI's) can push the same bytes.
type hostileCase struct {
	Name        string `json:"-"`
	Description string `json:"description"`
	// Manifest and Document are the exact bytes of the identity manifest
	// and of the identity document.
	Manifest string `json:"manifest"`
	Document string `json:"document"`
	// Blobs are the component blobs to store (a missing one is left out).
	Blobs []string `json:"blobs"`
	// Stage is where the identity fails: "structure" (spec.ParseIdentity
	// rejects it, so Inspect fails too) or "blobs" (only fetching the
	// blobs shows it).
	Stage string `json:"stage"`
	// Checks are the check names that must be among the failures.
	Checks []string `json:"checks"`
}

// mutation edits a copy of the minimal example's identity; blobs holds the
// component blobs by digest.
type mutation struct {
	name, description, stage string
	checks                   []string
	edit                     func(m *ocispec.Manifest, d *spec.IdentityDocument, blobs map[digest.Digest][]byte)
}

// renameInput gives the input component (layer and document) another name.
func renameInput(name string) func(*ocispec.Manifest, *spec.IdentityDocument, map[digest.Digest][]byte) {
	return func(m *ocispec.Manifest, d *spec.IdentityDocument, _ map[digest.Digest][]byte) {
		i := componentIndex(d, mediatype.RoleInput)
		d.Components[i].Name = name
		m.Layers[i].Annotations[mediatype.AnnotationTitle] = name
	}
}

func componentIndex(d *spec.IdentityDocument, role string) int {
	for i, c := range d.Components {
		if c.Role == role {
			return i
		}
	}
	panic("no component of role " + role)
}

var mutations = []mutation{
	{name: "name-dotdot", description: "a component named ../x", stage: "structure", checks: []string{"component-name"}, edit: renameInput("../x")},
	{name: "name-absolute", description: "a component named /etc/x", stage: "structure", checks: []string{"component-name"}, edit: renameInput("/etc/x")},
	{name: "name-inner-dotdot", description: "a component named a/../../b", stage: "structure", checks: []string{"component-name"}, edit: renameInput("a/../../b")},
	{name: "name-drive", description: `a component named C:\x`, stage: "structure", checks: []string{"component-name"}, edit: renameInput(`C:\x`)},
	{name: "name-empty", description: "a component with an empty name", stage: "structure", checks: []string{"component-name"}, edit: renameInput("")},
	{name: "name-nul", description: "a component name with a NUL byte", stage: "structure", checks: []string{"component-name"}, edit: renameInput("input/a\x00b.json")},
	{name: "name-duplicate", description: "two components with the same name", stage: "structure", checks: []string{"component-name"}, edit: renameInput("model.json")},
	{name: "name-duplicate-case", description: "two components whose names differ only in case", stage: "structure", checks: []string{"component-name"}, edit: renameInput("MODEL.json")},
	{name: "artifact-type-wrong", description: "a manifest whose artifactType is not the run identity one", stage: "structure", checks: []string{"artifact-type"},
		edit: func(m *ocispec.Manifest, _ *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			m.ArtifactType = "application/vnd.example.other.v1"
		}},
	{name: "document-disagrees", description: "the identity document names other bytes for a component than its layer", stage: "structure", checks: []string{"layers-match"},
		edit: func(_ *ocispec.Manifest, d *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			i := componentIndex(d, mediatype.RoleInput)
			d.Components[i].Digest = digest.FromString("other bytes")
		}},
	{name: "document-role-disagrees", description: "the identity document gives a component another role than its layer annotation", stage: "structure", checks: []string{"layers-match"},
		edit: func(m *ocispec.Manifest, _ *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			i := len(m.Layers) - 1
			m.Layers[i].Annotations[mediatype.AnnotationRole] = mediatype.RoleInput
		}},
	{name: "core-role-missing", description: "an identity document that does not account for the tools role", stage: "structure", checks: []string{"role-accounted"},
		edit: func(_ *ocispec.Manifest, d *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			delete(d.Roles, mediatype.RoleTools)
		}},
	{name: "role-state-wrong", description: "a role declared none that has a component", stage: "structure", checks: []string{"role-state"},
		edit: func(_ *ocispec.Manifest, d *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			d.Roles[mediatype.RoleModel] = mediatype.StateNone
		}},
	{name: "media-type-unknown", description: "a model component with an unknown media type", stage: "structure", checks: []string{"media-type"},
		edit: func(m *ocispec.Manifest, d *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			i := componentIndex(d, mediatype.RoleModel)
			d.Components[i].MediaType = "application/vnd.example.model.v2+json"
			m.Layers[i].MediaType = "application/vnd.example.model.v2+json"
		}},
	{name: "media-type-other-role", description: "a model component with the media type of the tools role", stage: "structure", checks: []string{"media-type"},
		edit: func(m *ocispec.Manifest, d *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			i := componentIndex(d, mediatype.RoleModel)
			mt := mediatype.Component(mediatype.RoleTools, mediatype.FormatJSON)
			d.Components[i].MediaType, m.Layers[i].MediaType = mt, mt
		}},
	{name: "subject", description: "an identity manifest with a subject", stage: "structure", checks: []string{"no-subject"},
		edit: func(m *ocispec.Manifest, _ *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			s := m.Config
			m.Subject = &s
		}},
	{name: "created", description: "an identity manifest with a creation time", stage: "structure", checks: []string{"no-created"},
		edit: func(m *ocispec.Manifest, _ *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			m.Annotations = map[string]string{mediatype.AnnotationCreated: "2024-01-01T00:00:00Z"}
		}},
	{name: "blob-size-huge", description: "a component whose descriptor claims 2^62 bytes", stage: "blobs", checks: []string{"blob-size"},
		edit: func(m *ocispec.Manifest, d *spec.IdentityDocument, _ map[digest.Digest][]byte) {
			i := componentIndex(d, mediatype.RoleInput)
			d.Components[i].Size, m.Layers[i].Size = 1<<62, 1<<62
		}},
	{name: "blob-missing", description: "a component whose blob is not stored", stage: "blobs", checks: []string{"blob-missing"},
		edit: func(_ *ocispec.Manifest, d *spec.IdentityDocument, blobs map[digest.Digest][]byte) {
			delete(blobs, d.Components[componentIndex(d, mediatype.RoleInput)].Digest)
		}},
}

// generateHostile builds every case from the minimal example.
func generateHostile(t testing.TB) []hostileCase {
	t.Helper()
	comp := testutil.LoadExample(t, "minimal")
	var out []hostileCase
	for _, mu := range mutations {
		var m ocispec.Manifest
		var d spec.IdentityDocument
		if err := json.Unmarshal(comp.Identity.ManifestBytes, &m); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(comp.Identity.DocumentBytes, &d); err != nil {
			t.Fatal(err)
		}
		blobs := map[digest.Digest][]byte{}
		for _, c := range comp.Components {
			blobs[c.Digest] = testutil.ComponentBytes(t, c)
		}
		mu.edit(&m, &d, blobs)
		docBytes, err := spec.MarshalCanonical(d)
		if err != nil {
			t.Fatal(err)
		}
		m.Config.Digest, m.Config.Size = digest.FromBytes(docBytes), int64(len(docBytes))
		mBytes, err := spec.MarshalCanonical(m)
		if err != nil {
			t.Fatal(err)
		}
		hc := hostileCase{Name: mu.name, Description: mu.description, Manifest: string(mBytes), Document: string(docBytes),
			Stage: mu.stage, Checks: mu.checks, Blobs: []string{}}
		for _, c := range comp.Components {
			if b, ok := blobs[c.Digest]; ok {
				hc.Blobs = append(hc.Blobs, string(b))
			}
		}
		out = append(out, hc)
	}
	return out
}

func encodeHostile(t testing.TB, hc hostileCase) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(hc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGenerateHostile checks that testdata/hostile holds exactly what the
// generators make; with -update it rewrites the files.
func TestGenerateHostile(t *testing.T) {
	cases := generateHostile(t)
	if *update {
		if err := os.MkdirAll(hostileDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(hostileDir, "*.json"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	var want []string
	for _, hc := range cases {
		path := filepath.Join(hostileDir, hc.Name+".json")
		want = append(want, path)
		b := encodeHostile(t, hc)
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./pull -run TestGenerateHostile -update)", err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s is out of date (run go test ./pull -run TestGenerateHostile -update)", path)
		}
	}
	files, _ := filepath.Glob(filepath.Join(hostileDir, "*.json"))
	slices.Sort(files)
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("testdata/hostile holds %v, the generators make %v", files, want)
	}
}

// loadHostile reads every case in testdata/hostile.
func loadHostile(t testing.TB) []hostileCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile cases in %s: %v", hostileDir, err)
	}
	var out []hostileCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var hc hostileCase
		if err := json.Unmarshal(b, &hc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		hc.Name = strings.TrimSuffix(filepath.Base(f), ".json")
		out = append(out, hc)
	}
	return out
}

// pushRaw stores a case's blobs, identity document and manifest in
// target, bypassing pack, and tags the manifest.
func pushRaw(t testing.TB, target oras.Target, hc hostileCase) ocispec.Descriptor {
	t.Helper()
	ctx := t.Context()
	for _, b := range hc.Blobs {
		desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString(b), Size: int64(len(b))}
		if err := target.Push(ctx, desc, strings.NewReader(b)); err != nil {
			t.Fatalf("push blob: %v", err)
		}
	}
	doc := ocispec.Descriptor{MediaType: mediatype.IdentityDocument, Digest: digest.FromString(hc.Document), Size: int64(len(hc.Document))}
	if err := target.Push(ctx, doc, strings.NewReader(hc.Document)); err != nil {
		t.Fatalf("push document: %v", err)
	}
	m := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(hc.Manifest), Size: int64(len(hc.Manifest))}
	if err := target.Push(ctx, m, strings.NewReader(hc.Manifest)); err != nil {
		t.Fatalf("push manifest: %v", err)
	}
	if err := target.Tag(ctx, m, tag); err != nil {
		t.Fatalf("tag: %v", err)
	}
	return m
}

// TestHostileIdentities reads every hand-crafted identity from every kind
// of source: Verify and Pull must fail with a *VerificationError naming the
// expected checks, Inspect too when the structure is at fault, and Pull
// must leave the directory (and its parent) as it was.
func TestHostileIdentities(t *testing.T) {
	for _, hc := range loadHostile(t) {
		for _, src := range sources {
			if src.Name == "distribution" && hc.Name == "blob-missing" {
				// Distribution refuses a manifest whose blobs it does not
				// have; TestMissingBlobDeleted covers it by deleting one.
				continue
			}
			t.Run(hc.Name+"/"+src.Name, func(t *testing.T) {
				ctx := t.Context()
				store := src.Open(t, func(dst oras.Target) { pushRaw(t, dst, hc) })
				mdigest := digest.FromString(hc.Manifest)

				rep, err := pull.Verify(ctx, store, tag, pull.VerifyOptions{})
				testutil.WantVerificationError(t, err, hc.Checks...)
				wantFailedChecks(t, rep, hc.Checks...)
				if rep.Digest != mdigest {
					t.Errorf("report digest = %s, want the manifest's %s", rep.Digest, mdigest)
				}

				_, err = pull.Inspect(ctx, store, tag, pull.Options{})
				if hc.Stage == "structure" {
					testutil.WantVerificationError(t, err, hc.Checks...)
				} else if err != nil {
					t.Errorf("inspect: %v; the structure of a %q case is sound", err, hc.Stage)
				}

				parent := t.TempDir()
				dir := filepath.Join(parent, "out")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("pre-existing"), 0o644); err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, parent)
				rep, err = pull.Pull(ctx, store, tag, dir, pull.PullOptions{})
				testutil.WantVerificationError(t, err, hc.Checks...)
				wantFailedChecks(t, rep, hc.Checks...)
				assertUnchanged(t, parent, before)
			})
		}
	}
}

// TestMissingBlobDeleted deletes a component blob from a registry that
// refuses manifests with missing blobs.
func TestMissingBlobDeleted(t *testing.T) {
	for _, src := range sources {
		t.Run(src.Name, func(t *testing.T) {
			comp := testutil.LoadExample(t, "rag-agent")
			victim := comp.Components[len(comp.Components)-1]
			store := src.Open(t, func(dst oras.Target) {
				testutil.Push(t, dst, comp, tag)
				deleteBlob(t, dst, victim.Descriptor())
			})
			parent := t.TempDir()
			before := snapshot(t, parent)
			rep, err := pull.Pull(t.Context(), store, tag, filepath.Join(parent, "out"), pull.PullOptions{})
			ve := testutil.WantVerificationError(t, err, "blob-missing")
			wantFailedChecks(t, rep, "blob-missing")
			found := false
			for _, p := range ve.Problems {
				found = found || (p.Check == "blob-missing" && p.Subject == victim.Name)
			}
			if !found {
				t.Errorf("no blob-missing problem names %q: %v", victim.Name, ve.Problems)
			}
			assertUnchanged(t, parent, before)
		})
	}
}

// deleteBlob removes a blob from a layout directory or a registry.
func deleteBlob(t testing.TB, target oras.Target, desc ocispec.Descriptor) {
	t.Helper()
	type deleter interface {
		Delete(ctx context.Context, target ocispec.Descriptor) error
	}
	d, ok := target.(deleter)
	if !ok {
		t.Fatalf("%T cannot delete", target)
	}
	if err := d.Delete(t.Context(), desc); err != nil {
		t.Fatalf("delete blob: %v", err)
	}
}
