package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pull/report"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

const examples = "../../testdata/examples"

// exampleNames are the worked examples, each reported by the tests.
var exampleNames = []string{"minimal", "rag-agent", "extension-role", "local-weights"}

// fixedNow is the generation time of reports whose bytes are compared.
var fixedNow = func() time.Time { return time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC) }

// layoutStore is an OCI image layout directory holding identities.
type layoutStore struct {
	*oci.Store
	dir string
}

func newLayout(t testing.TB) layoutStore {
	s, dir := testutil.NewLayout(t)
	return layoutStore{s, dir}
}

func (l layoutStore) location() report.Location {
	return report.Location{Display: l.dir, Layout: true}
}

// pushExample pushes testdata/examples/<name> tagged with its name.
func pushExample(t testing.TB, s oras.Target, name string) ocispec.Descriptor {
	t.Helper()
	return testutil.Push(t, s, testutil.Load(t, filepath.Join(examples, name, "runid.yaml")), name)
}

// attachRecord attaches an output record with execution facts and one file.
func attachRecord(t testing.TB, s oras.Target, ref string, facts map[string]any, file string, data []byte) ocispec.Descriptor {
	t.Helper()
	res, err := referrer.Attach(t.Context(), s, ref, []referrer.OutputFile{{Name: file, Data: data, MediaType: "text/markdown"}},
		referrer.AttachOptions{Execution: facts, Created: fixedNow()})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	return res.Descriptor
}

// keyCheck checks signatures with key, as the CLI does.
func keyCheck(name string, key signature.Verifier) report.KeyCheck {
	return report.KeyCheck{Name: name, Verifier: sigverify.Verifier{Key: key}}
}

// render collects and renders the report of ref, and returns the HTML.
func render(t testing.TB, src oras.ReadOnlyTarget, ref string, opts report.Options) (*report.Report, []byte) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	r, err := report.Collect(t.Context(), src, ref, opts)
	if err != nil {
		t.Fatalf("collect %s: %v", ref, err)
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, r, report.RenderOptions{}); err != nil {
		t.Fatalf("render %s: %v", ref, err)
	}
	return r, buf.Bytes()
}

// writeArtifact writes data into the test's artifact directory.
func writeArtifact(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func artifactDir(t testing.TB) string {
	if tt, ok := t.(*testing.T); ok {
		return tt.ArtifactDir()
	}
	if b, ok := t.(*testing.B); ok {
		return b.ArtifactDir()
	}
	return t.TempDir()
}

var _ = spec.FactStatus
