package export_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/opencontainers/go-digest"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/export"
)

const examples = "../../testdata/examples"

var (
	schemaOnce sync.Once
	bomSchema  *jsonschema.Schema
	schemaErr  error
)

// cycloneDXSchema compiles the official CycloneDX 1.6 JSON schema, with
// the SPDX and JSF schemas it refers to, from the files that ship in the
// cyclonedx-go module (Apache-2.0, OWASP Foundation), with format
// assertions on.
func cycloneDXSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
		if err != nil {
			schemaErr = err
			return
		}
		dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		for file, id := range map[string]string{
			"bom-1.6.schema.json":   "http://cyclonedx.org/schema/bom-1.6.schema.json",
			"spdx.schema.json":      "http://cyclonedx.org/schema/spdx.schema.json",
			"jsf-0.82.schemax.json": "http://cyclonedx.org/schema/jsf-0.82.schema.json",
		} {
			f, err := os.Open(filepath.Join(dir, file))
			if err != nil {
				schemaErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(f)
			f.Close()
			if err != nil {
				schemaErr = err
				return
			}
			if err := c.AddResource(id, doc); err != nil {
				schemaErr = err
				return
			}
		}
		bomSchema, schemaErr = c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	})
	if schemaErr != nil {
		t.Fatalf("CycloneDX 1.6 schema: %v", schemaErr)
	}
	return bomSchema
}

func validateBOM(t *testing.T, b []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := cycloneDXSchema(t).Validate(v); err != nil {
		t.Fatalf("the BOM does not validate against CycloneDX 1.6: %v\n%s", err, b)
	}
}

func findComponent(bom *cdx.BOM, f func(cdx.Component) bool) *cdx.Component {
	for _, c := range *bom.Components {
		if f(c) {
			return &c
		}
	}
	return nil
}

// TestCycloneDX: the BOM of each example validates against the official
// schema, describes every component with its hash, and is the same bytes
// from a layout and from a registry.
func TestCycloneDX(t *testing.T) {
	reg := testregistry.StartDistribution(t)
	for _, ex := range []string{"minimal", "rag-agent", "local-weights", "extension-role"} {
		t.Run(ex, func(t *testing.T) {
			c := testutil.Load(t, filepath.Join(examples, ex, "runid.yaml"))
			layout, _ := testutil.NewLayout(t)
			testutil.Push(t, layout, c, "v1")
			b, err := export.Export(t.Context(), layout, "v1", export.Options{Repository: "registry.example/runs"})
			if err != nil {
				t.Fatal(err)
			}
			validateBOM(t, b)
			repo := testregistry.Repository(t, reg, "bom/"+ex)
			testutil.Push(t, repo, c, "v1")
			again, err := export.Export(t.Context(), repo, c.Digest().String(), export.Options{Repository: "registry.example/runs"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Errorf("the same identity gave other bytes from a registry")
			}
			bom := new(cdx.BOM)
			if err := cdx.NewBOMDecoder(bytes.NewReader(b), cdx.BOMFileFormatJSON).Decode(bom); err != nil {
				t.Fatal(err)
			}
			d := c.Digest()
			if bom.SpecVersion != cdx.SpecVersion1_6 || bom.Metadata.Timestamp != "" || bom.Metadata.Component.BOMRef != d.String() ||
				(*bom.Metadata.Component.Hashes)[0].Value != d.Encoded() || !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") {
				t.Errorf("metadata %+v serial %s", bom.Metadata.Component, bom.SerialNumber)
			}
			if len(*bom.Components) != len(c.Identity.Document.Components) {
				t.Fatalf("%d components, identity has %d", len(*bom.Components), len(c.Identity.Document.Components))
			}
			for i, e := range c.Identity.Document.Components {
				got := (*bom.Components)[i]
				if e.Withheld() {
					if got.Hashes != nil {
						t.Errorf("withheld %s has a hash", e.Name)
					}
					continue
				}
				if got.Hashes == nil || (*got.Hashes)[0].Algorithm != cdx.HashAlgoSHA256 || (*got.Hashes)[0].Value != e.Digest.Encoded() {
					t.Errorf("component %s: hashes %v, want %s", e.Name, got.Hashes, e.Digest)
				}
				want := cdx.ComponentTypeData
				if e.Role == mediatype.RoleModel {
					want = cdx.ComponentTypeMachineLearningModel
				}
				if got.Type != want {
					t.Errorf("component %s of role %s: type %s, want %s", e.Name, e.Role, got.Type, want)
				}
			}
			model := findComponent(bom, func(c cdx.Component) bool { return c.Type == cdx.ComponentTypeMachineLearningModel })
			switch ex {
			case "rag-agent":
				if model == nil || model.Supplier == nil || model.Supplier.Name == "" || model.Version == "" {
					t.Errorf("API model %+v", model)
				}
				rt := findComponent(bom, func(c cdx.Component) bool { return c.Components != nil && c.Type == cdx.ComponentTypeData })
				if rt == nil || len(*rt.Components) < 4 {
					t.Fatalf("runtime packages: %+v", rt)
				}
				kinds := map[cdx.ComponentType]string{}
				for _, p := range *rt.Components {
					kinds[p.Type] = p.Name
				}
				if kinds[cdx.ComponentTypeFramework] != "langchain-core" || kinds[cdx.ComponentTypeContainer] == "" || kinds[cdx.ComponentTypePlatform] != "python" {
					t.Errorf("runtime packages %v", kinds)
				}
			case "local-weights":
				if model == nil || model.Components == nil || (*(*model.Components)[0].Hashes)[0].Value == "" {
					t.Errorf("local weights model %+v", model)
				}
			}
		})
	}
}

// TestCycloneDXTimestamp: a timestamp only when asked, and then valid.
func TestCycloneDXTimestamp(t *testing.T) {
	layout, _ := testutil.NewLayout(t)
	testutil.Push(t, layout, testutil.Load(t, filepath.Join(examples, "minimal", "runid.yaml")), "v1")
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	b, err := export.Export(t.Context(), layout, "v1", export.Options{Timestamp: at})
	if err != nil {
		t.Fatal(err)
	}
	validateBOM(t, b)
	if !bytes.Contains(b, []byte(`"timestamp": "2026-02-03T04:05:06Z"`)) {
		t.Errorf("no timestamp:\n%s", b)
	}
}

// TestCycloneDXTamperedModel: a model component whose bytes do not match
// its digest is not described.
func TestCycloneDXTamperedModel(t *testing.T) {
	layout, dir := testutil.NewLayout(t)
	c := testutil.Load(t, filepath.Join(examples, "minimal", "runid.yaml"))
	testutil.Push(t, layout, c, "v1")
	for _, e := range c.Identity.Document.Components {
		if e.Role == mediatype.RoleModel {
			testutil.TamperBlob(t, dir, e.Digest)
		}
	}
	_, err := export.Export(t.Context(), layout, "v1", export.Options{})
	if !errors.Is(err, pull.ErrVerification) {
		t.Fatalf("err = %v, want a verification failure", err)
	}
}

// TestInToto: --format intoto prints the statement attest would sign.
func TestInToto(t *testing.T) {
	layout, _ := testutil.NewLayout(t)
	c := testutil.Load(t, filepath.Join(examples, "rag-agent", "runid.yaml"))
	d := testutil.Push(t, layout, c, "v1")
	subject := d // any artifact: here the identity's own descriptor stands for one
	subject.Digest = digest.FromString("an artifact the run produced")
	b, err := export.Export(t.Context(), layout, "v1", export.Options{Format: export.FormatInToto, Subject: subject,
		Repository: "registry.example/runs", Predicate: attest.PredicateSLSA})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("\n")) || !json.Valid(b) {
		t.Fatalf("statement %s", b)
	}
	p, err := attest.ParseStatement(bytes.TrimSpace(b))
	if err != nil || p.Identity.Digest != c.Digest() || p.Provenance == nil {
		t.Fatalf("%v %+v", err, p)
	}
	for _, opts := range []export.Options{{Format: export.FormatInToto}, {Format: "spdx"}} {
		if _, err := export.Export(t.Context(), layout, "v1", opts); !errors.Is(err, export.ErrFormat) {
			t.Errorf("%+v: err = %v", opts, err)
		}
	}
}

// TestSchemaRejects: the schema used above does reject a bad BOM (a serial
// number that is not a UUID URN, a component without a type).
func TestSchemaRejects(t *testing.T) {
	s := cycloneDXSchema(t)
	for _, bad := range []string{
		`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"serialNumber":"sha256:00"}`,
		`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"name":"x"}]}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if s.Validate(v) == nil {
			t.Errorf("the schema accepts %s", bad)
		}
	}
}
