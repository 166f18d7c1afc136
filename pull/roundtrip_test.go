package pull_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pull"
)

// TestRoundTrip pushes every example to every kind of source, then checks
// that Verify passes, Inspect agrees, and Pull writes each component at its
// name with the bytes pack computed, by tag and by digest.
func TestRoundTrip(t *testing.T) {
	for _, example := range []string{"minimal", "rag-agent", "extension-role", "local-weights"} {
		comp := testutil.LoadExample(t, example)
		for _, src := range sources {
			t.Run(example+"/"+src.Name, func(t *testing.T) {
				ctx := t.Context()
				store := src.Open(t, func(dst oras.Target) { testutil.Push(t, dst, comp, tag) })
				for _, ref := range []string{tag, comp.Digest().String()} {
					var mu sync.Mutex
					verified := map[string]bool{}
					opts := pull.Options{Progress: func(e pull.Event) {
						mu.Lock()
						defer mu.Unlock()
						if e.Kind == pull.EventBlobVerified {
							verified[e.Descriptor.Digest.String()] = true
						}
					}}
					rep, err := pull.Verify(ctx, store, ref, pull.VerifyOptions{Options: opts})
					if err != nil {
						t.Fatalf("verify %s: %v", ref, err)
					}
					if !rep.Verified || rep.Digest != comp.Digest() || rep.Reference != ref {
						t.Fatalf("report = verified %v digest %s reference %q; want verified %s %q", rep.Verified, rep.Digest, rep.Reference, comp.Digest(), ref)
					}
					for _, c := range rep.Checks {
						if !c.OK {
							t.Errorf("failed check in a verified report: %+v", c)
						}
					}
					for _, c := range comp.Components {
						if !verified[c.Digest.String()] {
							t.Errorf("no EventBlobVerified for %q (%s)", c.Name, c.Digest)
						}
					}
					if _, err := json.Marshal(rep); err != nil {
						t.Errorf("marshal report: %v", err)
					}

					id, err := pull.Inspect(ctx, store, ref, pull.Options{})
					if err != nil {
						t.Fatalf("inspect %s: %v", ref, err)
					}
					if id.Descriptor.Digest != comp.Digest() || !bytes.Equal(id.ManifestBytes, comp.Identity.ManifestBytes) ||
						!bytes.Equal(id.DocumentBytes, comp.Identity.DocumentBytes) || id.Reference != ref {
						t.Errorf("inspect %s: identity differs from the pushed one", ref)
					}

					dir := filepath.Join(t.TempDir(), "out")
					rep, err = pull.Pull(ctx, store, ref, dir, pull.PullOptions{})
					if err != nil {
						t.Fatalf("pull %s: %v", ref, err)
					}
					if !rep.Verified {
						t.Fatalf("pull report not verified")
					}
					got := readTree(t, dir)
					want := map[string][]byte{}
					for _, c := range disclosed(comp) {
						want[c.Name] = testutil.ComponentBytes(t, c)
					}
					if len(got) != len(want) {
						t.Errorf("pulled files %v, want %d components", keys(got), len(want))
					}
					for name, b := range want {
						if !bytes.Equal(got[name], b) {
							t.Errorf("pulled %q = %d bytes, want the %d bytes pack computed", name, len(got[name]), len(b))
						}
					}
				}
			})
		}
	}
}

// TestRoundTripFileBytes checks that a text component is pulled byte for
// byte as its source file.
func TestRoundTripFileBytes(t *testing.T) {
	comp := testutil.LoadExample(t, "rag-agent")
	store, _ := testutil.NewLayout(t)
	testutil.Push(t, store, comp, tag)
	dir := t.TempDir()
	if _, err := pull.Pull(t.Context(), store, tag, dir, pull.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, file string }{
		{"system-prompt/support-agent.md", "prompts/system.md"},
		{"context/03-warranty.md", "context/03-warranty.md"},
		{"config/agent.yaml", "config/agent.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(examples, "rag-agent", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tc.name)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s", tc.name, tc.file)
			}
		})
	}
}

// TestPullExisting checks that Pull refuses to overwrite an existing file
// unless asked, before fetching anything.
func TestPullExisting(t *testing.T) {
	comp := testutil.LoadExample(t, "minimal")
	store, _ := testutil.NewLayout(t)
	testutil.Push(t, store, comp, tag)
	name := disclosed(comp)[0].Name
	want := testutil.ComponentBytes(t, disclosed(comp)[0])

	for _, tc := range []struct {
		name      string
		overwrite bool
		wantErr   error
	}{
		{name: "refused", overwrite: false, wantErr: pull.ErrExists},
		{name: "overwrite", overwrite: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			_, err := pull.Pull(t.Context(), store, tag, dir, pull.PullOptions{Overwrite: tc.overwrite})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("pull error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				assertUnchanged(t, dir, before)
				return
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s = %q, %v; want the component bytes", name, got, err)
			}
		})
	}
}

// TestPullDuplicateDigest checks that components with the same bytes are
// fetched once and each written.
func TestPullDuplicateDigest(t *testing.T) {
	dir := t.TempDir()
	decl := `runid: "1"
roles:
  model: {name: m}
  parameters: {t: 1}
  system-prompt: none
  tools: none
  context:
    - {name: a.txt, text: "same bytes"}
    - {name: sub/b.txt, text: "same bytes"}
    - {name: sub/deeper/c.txt, text: "same bytes"}
  input: none
  config: none
  runtime: {r: 1}
`
	if err := os.WriteFile(filepath.Join(dir, "runid.yaml"), []byte(decl), 0o644); err != nil {
		t.Fatal(err)
	}
	comp, err := packLoad(t, filepath.Join(dir, "runid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	store, _ := testutil.NewLayout(t)
	testutil.Push(t, store, comp, tag)
	out := t.TempDir()
	var mu sync.Mutex
	events := map[pull.EventKind]int{}
	_, err = pull.Pull(t.Context(), store, tag, out, pull.PullOptions{Options: pull.Options{Progress: func(e pull.Event) {
		mu.Lock()
		events[e.Kind]++
		mu.Unlock()
	}}})
	if err != nil {
		t.Fatal(err)
	}
	files := readTree(t, out)
	for _, n := range []string{"a.txt", "sub/b.txt", "sub/deeper/c.txt"} {
		if string(files[n]) != "same bytes" {
			t.Errorf("%s = %q", n, files[n])
		}
	}
	if len(files) != 6 {
		t.Errorf("files = %v, want 6", keys(files))
	}
	// model, parameters, runtime and the one shared context blob.
	if events[pull.EventBlobVerified] != 4 || events[pull.EventFileWritten] != 6 {
		t.Errorf("events = %v, want 4 blobs verified and 6 files written", events)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
