package pull_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// recordFixture pushes the minimal identity and an output record with two
// files (one below a directory) to target.
func recordFixture(t *testing.T, target oras.Target) (referrer.AttachResult, *pack.Composition) {
	t.Helper()
	ctx := context.Background()
	c, err := pack.Load(ctx, "../testdata/examples/minimal/runid.yaml", pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.Push(ctx, target, c, pack.PushOptions{Tag: "run"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string]string{"answer.md": "Canberra.\n", "run.log": "ok\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := referrer.Attach(ctx, target, "run", []referrer.OutputFile{
		{Path: filepath.Join(dir, "answer.md")},
		{Path: filepath.Join(dir, "run.log"), Name: "logs/run.log", MediaType: "text/plain"},
	}, referrer.AttachOptions{Execution: map[string]any{spec.FactStatus: spec.StatusSucceeded}})
	if err != nil {
		t.Fatal(err)
	}
	return res, c
}

func TestPullOutputRecord(t *testing.T) {
	for _, st := range testutil.ReferrerStores() {
		t.Run(st.Name, func(t *testing.T) {
			ctx := context.Background()
			target, _ := st.Open(t)
			rec, c := recordFixture(t, target)
			dir := filepath.Join(t.TempDir(), "out")
			rep, err := pull.Pull(ctx, target, rec.Descriptor.Digest.String(), dir, pull.PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Verified || rep.Digest != rec.Descriptor.Digest || len(rep.Chain) != 2 ||
				rep.Chain[0].Kind != pull.ChainOutputRecord || rep.Chain[1].Digest != c.Digest() || !rep.Chain[1].Verified {
				t.Fatalf("report: verified %v digest %s chain %+v", rep.Verified, rep.Digest, rep.Chain)
			}
			for name, want := range map[string]string{"answer.md": "Canberra.\n", "logs/run.log": "ok\n"} {
				got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
				if err != nil || string(got) != want {
					t.Errorf("%s: %q, %v", name, got, err)
				}
			}
			if n := len(rep.Identity.Document.Components); n != 2 || rep.Identity.Document.Components[1].Role != pull.RoleOutput {
				t.Errorf("report lists %d files: %+v", n, rep.Identity.Document.Components)
			}
			// The identity's components are verified but not written.
			entries, _ := os.ReadDir(dir)
			if len(entries) != 2 {
				t.Errorf("dir holds %d entries, want answer.md and logs", len(entries))
			}
		})
	}
}

func TestPullOutputRecordDoesNotVerify(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(t *testing.T, layout string, rec referrer.AttachResult, c *pack.Composition)
		check   string
	}{
		{name: "record file", breakIt: func(t *testing.T, layout string, rec referrer.AttachResult, _ *pack.Composition) {
			testutil.TamperBlob(t, layout, rec.Files[0].Digest)
		}, check: "blob-digest"},
		{name: "identity component", breakIt: func(t *testing.T, layout string, _ referrer.AttachResult, c *pack.Composition) {
			testutil.TamperBlob(t, layout, c.Identity.Manifest.Layers[0].Digest)
		}, check: "blob-digest"},
		{name: "output document", breakIt: func(t *testing.T, layout string, rec referrer.AttachResult, _ *pack.Composition) {
			testutil.TamperBlob(t, layout, rec.Record.Manifest.Config.Digest)
		}, check: "blob-digest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			layout := filepath.Join(t.TempDir(), "layout")
			store, err := oci.New(layout)
			if err != nil {
				t.Fatal(err)
			}
			rec, c := recordFixture(t, store)
			tc.breakIt(t, layout, rec, c)
			dir := filepath.Join(t.TempDir(), "out")
			rep, err := pull.Pull(ctx, store, rec.Descriptor.Digest.String(), dir, pull.PullOptions{})
			var ve *pull.VerificationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v, want a *VerificationError", err)
			}
			if rep == nil || rep.Verified {
				t.Fatalf("report %+v", rep)
			}
			found := false
			for _, p := range ve.Problems {
				found = found || p.Check == tc.check
			}
			if !found {
				t.Errorf("problems %v, want a %s check", ve.Problems, tc.check)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed pull left %s: %v", dir, err)
			}
		})
	}
}

func TestPullOutputRecordRemote(t *testing.T) {
	ctx := context.Background()
	reg := testregistry.StartDistribution(t)
	target := testregistry.Repository(t, reg, "runs")
	rec, _ := recordFixture(t, target)
	// An identity reference still pulls the identity.
	idDir := t.TempDir()
	if _, err := pull.Pull(ctx, target, "run", idDir, pull.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(idDir, "input", "messages.json")); err != nil {
		t.Errorf("identity pull: %v", err)
	}
	dir := t.TempDir()
	rep, err := pull.Pull(ctx, target, rec.Descriptor.Digest.String(), dir, pull.PullOptions{})
	if err != nil || !rep.Verified {
		t.Fatalf("record pull: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "logs", "run.log")); err != nil || string(b) != "ok\n" {
		t.Errorf("logs/run.log: %q, %v", b, err)
	}
}
