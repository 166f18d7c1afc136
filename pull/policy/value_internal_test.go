package policy

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// TestValueMatchesJSON: the OPA value a policy evaluates is exactly the
// JSON document of the input (the one the schema validates and inspect
// --policy-input prints), for every example, withheld and omitted content,
// JSON null content, signatures and an output record.
func TestValueMatchesJSON(t *testing.T) {
	var inputs []*Input
	for _, name := range []string{"minimal", "rag-agent", "local-weights", "extension-role"} {
		comp, err := pack.Load(t.Context(), filepath.Join("..", "..", "testdata", "examples", name, "runid.yaml"), pack.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in, err := CompositionInput(t.Context(), comp, InputOptions{Reference: "example/" + name})
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in)
	}
	run := new(pack.Run).
		Add(mediatype.RoleModel, pack.JSON("model.json", map[string]any{"n": 1.5e300, "big": 12345678901234567890.0, "u": "é\u2028"})).
		Add(mediatype.RoleParameters, pack.JSON("parameters.json", nil)).
		Add(mediatype.RoleSystemPrompt, pack.Text("p.md", "secret").Withhold()).
		Add(mediatype.RoleContext, pack.Binary("c.bin", []byte{0, 1}), pack.Text("big.md", string(bytes.Repeat([]byte("x"), 70<<10)))).
		Add(mediatype.RoleInput, pack.Text("input.txt", "hello")).
		Add(mediatype.RoleConfig, pack.YAML("c.yaml", []byte("a: [1, 2.5, true, null, {b: c}]\n"))).
		None(mediatype.RoleTools, mediatype.RoleRuntime)
	comp, err := run.Compose(t.Context(), pack.BuildOptions{WithholdSecret: []byte("value-test-withhold-secret-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := spec.BuildOutputRecord(comp.Identity.Descriptor(), spec.OutputDocument{Execution: map[string]any{"status": "failed", "exitCode": json.Number("3"), "nested": map[string]any{"a": []any{"b"}}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := CompositionInput(t.Context(), comp, InputOptions{Output: rec, Signatures: []Signature{{KeyID: "sha256:00", Format: "tag", Signed: KindIdentity, Digest: comp.Digest()}, {Format: "bundle", Signed: KindIdentity, Digest: comp.Digest(), CertificateIdentity: "ci@runid.example", CertificateIssuer: "https://issuer.runid.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	inputs = append(inputs, in)
	for _, in := range inputs {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ast.ValueFromReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := in.value()
		if err != nil {
			t.Fatal(err)
		}
		if got.Compare(want) != 0 {
			t.Errorf("%s: the OPA value differs from the JSON document\n got %v\nwant %v", in.Identity.Reference, got, want)
		}
	}
}
