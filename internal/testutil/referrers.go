package testutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack/referrer"
)

// ReferrerStore is a kind of store that referrers are written to and
// listed from.
type ReferrerStore struct {
	Name string
	// Open returns a fresh store for repository "runs" and an opener of
	// other repositories of the same registry (other layouts next to it,
	// for a layout). For a registry, each call of the opener returns a new
	// client that knows nothing of what the others learnt, like another
	// process.
	Open func(t *testing.T) (target oras.Target, open func(repo string) oras.Target)
	// TagSchema is true when referrers are kept in a sha256-<hex> index
	// (the registry has no referrers API).
	TagSchema bool
}

// ReferrerStores are an OCI layout, go-containerregistry's registry with
// the referrers API (with testregistry's conformance fixes and without
// them, StartRawGGCR) and Distribution, which has only the tag schema.
func ReferrerStores() []ReferrerStore {
	remote := func(start func(testing.TB) *testregistry.Registry) func(t *testing.T) (oras.Target, func(string) oras.Target) {
		return func(t *testing.T) (oras.Target, func(string) oras.Target) {
			reg := start(t)
			return testregistry.Repository(t, reg, "runs"), func(repo string) oras.Target { return testregistry.Repository(t, reg, repo) }
		}
	}
	return []ReferrerStore{
		{Name: "oci-layout", Open: func(t *testing.T) (oras.Target, func(string) oras.Target) {
			dir := t.TempDir()
			open := func(repo string) oras.Target {
				s, err := oci.New(filepath.Join(dir, repo))
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			runs := open("runs")
			return runs, func(repo string) oras.Target {
				if repo == "runs" {
					return runs
				}
				return open(repo)
			}
		}},
		{Name: "ggcr-referrers-api", Open: remote(testregistry.StartGGCR)},
		{Name: "ggcr-raw", Open: remote(StartRawGGCR)},
		{Name: "distribution-tag-schema", Open: remote(testregistry.StartDistribution), TagSchema: true},
	}
}

// StartRawGGCR serves go-containerregistry's registry with referrers on
// but without testregistry's conformance fixes: no OCI-Subject header on
// pushes, the config media type as artifactType in listings, no
// artifactType filter.
func StartRawGGCR(t testing.TB) *testregistry.Registry {
	return testregistry.Serve(t, ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0))))
}

// OutputFiles writes files (name to content) into a fresh directory and
// returns them as the output files of a run.
func OutputFiles(t testing.TB, files map[string]string) []referrer.OutputFile {
	t.Helper()
	dir := t.TempDir()
	var out []referrer.OutputFile
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, referrer.OutputFile{Path: p})
	}
	return out
}

// PushManifest encodes m and pushes it to target (a manifest already
// there is fine), and returns its descriptor.
func PushManifest(t testing.TB, target oras.Target, m ocispec.Manifest) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d := ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := target.Push(t.Context(), d, bytes.NewReader(b)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Fatal(err)
	}
	return d
}
