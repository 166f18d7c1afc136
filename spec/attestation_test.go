package spec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

var updateAttestation = flag.Bool("update-attestation-vector", false,
	"rewrite the inputs and expected predicate of spec/vectors/attestation")

// attestationVector is spec/vectors/attestation: the identity of the
// rag-agent vector, an output record of it, and the expected run predicate.
const attestationVector = "vectors/attestation"

// attestationRecord builds the vector's output record: no files, fixed
// execution facts (one of them not well known) and a fixed creation time.
func attestationRecord(t *testing.T, id *spec.Identity) *spec.OutputRecord {
	t.Helper()
	rec, err := spec.BuildOutputRecord(ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: id.Digest(), Size: int64(len(id.ManifestBytes))},
		spec.OutputDocument{Execution: map[string]any{
			spec.FactInstanceID: "run-0042", spec.FactStartedAt: "2025-03-01T10:00:00Z", spec.FactEndedAt: "2025-03-01T10:00:07Z",
			spec.FactStatus: spec.StatusSucceeded, spec.FactExitCode: 0, "tokens": 1234,
		}}, nil, map[string]string{mediatype.AnnotationCreated: "2025-03-01T10:00:07Z"})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func loadVectorIdentity(t *testing.T, name string) *spec.Identity {
	t.Helper()
	dir := filepath.Join("vectors", name)
	id, err := spec.ParseIdentity(readVectorFile(t, dir, "manifest.json"), readVectorFile(t, dir, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRunPredicateVector re-derives spec/vectors/attestation/predicate.json
// from the rag-agent identity and the vector's output record.
func TestRunPredicateVector(t *testing.T) {
	id := loadVectorIdentity(t, "rag-agent")
	if *updateAttestation {
		rec := attestationRecord(t, id)
		for name, b := range map[string][]byte{"record.json": rec.ManifestBytes, "record-document.json": rec.DocumentBytes} {
			if err := os.WriteFile(filepath.Join(attestationVector, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec, err := spec.ParseOutputRecord(readVectorFile(t, attestationVector, "record.json"), readVectorFile(t, attestationVector, "record-document.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := spec.BuildRunPredicate(id, "registry.example/runs", rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := spec.MarshalCanonical(p)
	if err != nil {
		t.Fatal(err)
	}
	if *updateAttestation {
		if err := os.WriteFile(filepath.Join(attestationVector, "predicate.json"), got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readVectorFile(t, attestationVector, "predicate.json"); !bytes.Equal(got, want) {
		t.Fatalf("run predicate differs from predicate.json:\ngot  %s\nwant %s", got, want)
	}
	// What it says, read back.
	back, _, err := spec.ParseRunPredicate(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Identity.Digest != id.Digest() || back.OutputRecord == nil || back.OutputRecord.Digest != rec.Digest() ||
		len(back.Components) != len(id.Document.Components) || back.Roles[mediatype.RoleContext] != mediatype.StatePresent {
		t.Errorf("predicate read back: %+v", back)
	}
	if _, ok := back.OutputRecord.Execution["tokens"]; ok {
		t.Error("a fact that is not well known was copied into the predicate")
	}
	if err := spec.ValidateJSON("run-predicate.schema.json", got); err != nil {
		t.Errorf("schema: %v", err)
	}
}

func TestBuildRunPredicateWithoutRecord(t *testing.T) {
	id := loadVectorIdentity(t, "all-none")
	p, err := spec.BuildRunPredicate(id, "./runs", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.OutputRecord != nil || len(p.Components) != 0 || p.Components == nil {
		t.Errorf("predicate %+v", p)
	}
	b, _ := spec.MarshalCanonical(p)
	if strings.Contains(string(b), "outputRecord") || !strings.Contains(string(b), `"components":[]`) {
		t.Errorf("encoded %s", b)
	}
}

func TestBuildRunPredicateRecordOfAnotherIdentity(t *testing.T) {
	rec := attestationRecord(t, loadVectorIdentity(t, "minimal"))
	_, err := spec.BuildRunPredicate(loadVectorIdentity(t, "rag-agent"), "registry.example/runs", rec)
	if !errors.Is(err, spec.ErrInvalidPredicate) || !strings.Contains(err.Error(), "predicate-record") {
		t.Fatalf("err = %v", err)
	}
	if _, err := spec.BuildRunPredicate(nil, "r", nil); !errors.Is(err, spec.ErrInvalidPredicate) {
		t.Fatalf("nil identity: %v", err)
	}
}

// TestParseRunPredicateBad: each broken predicate is refused with the
// check and the field at fault.
func TestParseRunPredicateBad(t *testing.T) {
	good := readVectorFile(t, attestationVector, "predicate.json")
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	roles := func(m map[string]any) map[string]any { return m["roles"].(map[string]any) }
	comps := func(m map[string]any) []any { return m["components"].([]any) }
	for _, tc := range []struct {
		name   string
		data   []byte
		want   error
		detail string
	}{
		{"not JSON", []byte("{"), spec.ErrInvalidPredicate, "document-json"},
		{"major version 2", edit(func(m map[string]any) { m["specVersion"] = "2.0" }), spec.ErrUnsupportedVersion, "spec-version"},
		{"unknown member", edit(func(m map[string]any) { m["extra"] = 1 }), spec.ErrInvalidPredicate, "extra"},
		{"identity digest not sha256", edit(func(m map[string]any) { m["identity"].(map[string]any)["digest"] = "sha512:00" }), spec.ErrInvalidPredicate, "identity.digest"},
		{"repository with a digest", edit(func(m map[string]any) { m["identity"].(map[string]any)["repository"] = "r@sha256:00" }), spec.ErrInvalidPredicate, "identity.repository"},
		{"core role missing", edit(func(m map[string]any) { delete(roles(m), "tools") }), spec.ErrInvalidPredicate, "tools"},
		{"state disagrees with components", edit(func(m map[string]any) { roles(m)["context"] = "none" }), spec.ErrInvalidPredicate, "predicate-roles"},
		{"component of an undeclared role", edit(func(m map[string]any) { comps(m)[0].(map[string]any)["role"] = "com.example.x" }), spec.ErrInvalidPredicate, "components[0].role"},
		{"duplicate name", edit(func(m map[string]any) { m["components"] = append(comps(m), comps(m)[0]) }), spec.ErrInvalidPredicate, "duplicate name"},
		{"bad component digest", edit(func(m map[string]any) { comps(m)[1].(map[string]any)["digest"] = "sha256:XY" }), spec.ErrInvalidPredicate, "components[1].digest"},
		{"record without digest", edit(func(m map[string]any) { delete(m["outputRecord"].(map[string]any), "digest") }), spec.ErrInvalidPredicate, "digest"},
		{"fact not well known", edit(func(m map[string]any) { m["outputRecord"].(map[string]any)["execution"].(map[string]any)["tokens"] = 3 }), spec.ErrInvalidPredicate, "tokens"},
		{"ended before started", edit(func(m map[string]any) {
			m["outputRecord"].(map[string]any)["execution"].(map[string]any)["endedAt"] = "2025-03-01T09:00:00Z"
		}), spec.ErrInvalidPredicate, "outputRecord.execution.endedAt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := spec.ParseRunPredicate(tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("err = %v, want it to name %q", err, tc.detail)
			}
		})
	}
}

// TestParseRunPredicateMinorVersion: a 1.1 predicate's unknown top-level
// members are ignored with a warning.
func TestParseRunPredicateMinorVersion(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(readVectorFile(t, attestationVector, "predicate.json"), &m); err != nil {
		t.Fatal(err)
	}
	m["specVersion"], m["later"] = "1.1", true
	b, _ := json.Marshal(m)
	p, warnings, err := spec.ParseRunPredicate(b)
	if err != nil || len(warnings) != 1 || p.SpecVersion != "1.1" {
		t.Fatalf("p %+v, warnings %v, err %v", p, warnings, err)
	}
}
