package attest_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/spec"
)

var update = flag.Bool("update", false, "rewrite the expected statements of spec/vectors/attestation")

const vectorDir = "../../spec/vectors/attestation"

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorInputs reads the inputs of spec/vectors/attestation: the subject,
// the rag-agent identity, the output record.
func vectorInputs(t testing.TB) (ocispec.Descriptor, string, *spec.Identity, *spec.OutputRecord) {
	t.Helper()
	var subj struct {
		ocispec.Descriptor
		Name string `json:"name"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(vectorDir, "subject.json")), &subj); err != nil {
		t.Fatal(err)
	}
	idDir := filepath.Join(vectorDir, "..", "rag-agent")
	id, err := spec.ParseIdentity(readFile(t, filepath.Join(idDir, "manifest.json")), readFile(t, filepath.Join(idDir, "identity.json")))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := spec.ParseOutputRecord(readFile(t, filepath.Join(vectorDir, "record.json")), readFile(t, filepath.Join(vectorDir, "record-document.json")))
	if err != nil {
		t.Fatal(err)
	}
	return subj.Descriptor, subj.Name, id, rec
}

// TestStatementVectors re-derives statement-run.json and statement-slsa.json
// byte for byte, and reads each back.
func TestStatementVectors(t *testing.T) {
	subject, name, id, rec := vectorInputs(t)
	for _, kind := range []string{attest.PredicateRun, attest.PredicateSLSA} {
		t.Run(kind, func(t *testing.T) {
			got, err := attest.Statement(subject, id, "registry.example/runs", rec, attest.StatementOptions{Predicate: kind, SubjectName: name})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(vectorDir, "statement-"+kind+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, file); !bytes.Equal(got, want) {
				t.Fatalf("statement differs from %s:\ngot  %s\nwant %s", file, got, want)
			}
			p, err := attest.ParseStatement(got)
			if err != nil {
				t.Fatal(err)
			}
			if p.Identity.Digest != id.Digest() || p.Identity.Repository != "registry.example/runs" || p.OutputRecord != rec.Digest() {
				t.Errorf("read back: identity %v, record %s", p.Identity, p.OutputRecord)
			}
			if s := p.Statement.GetSubject(); len(s) != 1 || s[0].GetDigest()["sha256"] != subject.Digest.Encoded() || s[0].GetName() != name {
				t.Errorf("subject %v", s)
			}
			if kind == attest.PredicateRun {
				// The predicate is the spec's vector predicate.
				var stmt struct {
					Predicate json.RawMessage `json:"predicate"`
				}
				if err := json.Unmarshal(got, &stmt); err != nil {
					t.Fatal(err)
				}
				if want := readFile(t, filepath.Join(vectorDir, "predicate.json")); !bytes.Equal(stmt.Predicate, want) {
					t.Errorf("predicate differs from predicate.json:\n%s", stmt.Predicate)
				}
				return
			}
			prov := p.Provenance
			bd, rd := prov.GetBuildDefinition(), prov.GetRunDetails()
			disclosed := 0
			for _, c := range id.Document.Components {
				if !c.Withheld() {
					disclosed++
				}
			}
			if bd.GetBuildType() != spec.SLSABuildType || len(bd.GetResolvedDependencies()) != disclosed || disclosed == 0 {
				t.Errorf("buildDefinition %v", bd)
			}
			for i, d := range bd.GetResolvedDependencies() {
				c := id.Document.Components[i]
				if d.GetName() != c.Name || d.GetDigest()["sha256"] != c.Digest.Encoded() || d.GetMediaType() != c.MediaType {
					t.Errorf("dependency %d = %v, component %+v", i, d, c)
				}
			}
			md := rd.GetMetadata()
			if rd.GetBuilder().GetId() != spec.SLSABuilderID || md.GetInvocationId() != "run-0042" ||
				md.GetStartedOn().AsTime().Format("15:04:05") != "10:00:00" || md.GetFinishedOn().AsTime().Format("15:04:05") != "10:00:07" ||
				len(rd.GetByproducts()) != 1 || rd.GetByproducts()[0].GetDigest()["sha256"] != rec.Digest().Encoded() {
				t.Errorf("runDetails %v", rd)
			}
		})
	}
}
