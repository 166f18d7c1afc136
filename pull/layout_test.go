package pull_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull"
)

// TestTamperedLayout edits the blobs of an OCI layout behind the store's
// back. The layout is read as a directory and as a tar file. (A tampered
// manifest cannot be tested here: oras-go's layout stores check the
// manifests index.json names when they open; TestLyingRegistry covers it.)
func TestTamperedLayout(t *testing.T) {
	comp := testutil.LoadExample(t, "rag-agent")
	v := victim(t, comp)
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, layout string)
		checks  []string
		wantErr error
	}{
		{name: "blob other bytes", checks: []string{"blob-digest"}, tamper: func(t *testing.T, layout string) {
			p := testutil.BlobPath(layout, v.Digest)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, p, flip(b))
		}},
		{name: "blob truncated", checks: []string{"blob-size"}, tamper: func(t *testing.T, layout string) {
			p := testutil.BlobPath(layout, v.Digest)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, p, b[:len(b)-1])
		}},
		{name: "blob longer", checks: []string{"blob-size"}, tamper: func(t *testing.T, layout string) {
			p := testutil.BlobPath(layout, v.Digest)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, p, append(b, '\n'))
		}},
		{name: "identity document other bytes", checks: []string{"config-digest"}, tamper: func(t *testing.T, layout string) {
			writeFile(t, testutil.BlobPath(layout, comp.Identity.ConfigDescriptor().Digest), flip(comp.Identity.DocumentBytes))
		}},
	} {
		for _, asTar := range []bool{false, true} {
			name := tc.name + "/dir"
			if asTar {
				name = tc.name + "/tar"
			}
			t.Run(name, func(t *testing.T) {
				ctx := t.Context()
				store, layout := testutil.NewLayout(t)
				testutil.Push(t, store, comp, tag)
				tc.tamper(t, layout)
				var src oras.ReadOnlyTarget
				if asTar {
					src = testutil.TarLayout(t, layout)
				} else {
					s, err := oci.NewWithContext(ctx, layout)
					if err != nil {
						t.Fatal(err)
					}
					src = s
				}
				parent := t.TempDir()
				before := snapshot(t, parent)
				rep, err := pull.Pull(ctx, src, tag, filepath.Join(parent, "out"), pull.PullOptions{})
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("pull error = %v, want %v", err, tc.wantErr)
					}
				} else {
					testutil.WantVerificationError(t, err, tc.checks...)
					wantFailedChecks(t, rep, tc.checks...)
				}
				assertUnchanged(t, parent, before)
			})
		}
	}
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestManifestOverCap stores a real manifest over the default cap in a
// layout, and reads a normal one from every source with a lowered cap.
func TestManifestOverCap(t *testing.T) {
	t.Run("5 MiB manifest", func(t *testing.T) {
		comp := testutil.LoadExample(t, "minimal")
		var m ocispec.Manifest
		if err := json.Unmarshal(comp.Identity.ManifestBytes, &m); err != nil {
			t.Fatal(err)
		}
		m.Annotations = map[string]string{"padding": strings.Repeat("x", 5<<20)}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		store, _ := testutil.NewLayout(t)
		testutil.Push(t, store, comp, tag)
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := store.Push(t.Context(), desc, strings.NewReader(string(b))); err != nil {
			t.Fatal(err)
		}
		if err := store.Tag(t.Context(), desc, "big"); err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{"big", desc.Digest.String()} {
			if _, err := pull.Resolve(t.Context(), store, ref, pull.Options{}); !errors.Is(err, pull.ErrTooLarge) {
				t.Errorf("resolve %s: error = %v, want ErrTooLarge", ref, err)
			}
			// Verify reports it: an identity over the cap is not one a
			// reader accepts (spec/SPEC.md §6.2 step 1).
			_, err := pull.Verify(t.Context(), store, ref, pull.VerifyOptions{})
			testutil.WantVerificationError(t, err, "manifest-size")
		}
		// A raised cap reads it (and finds its annotation harmless but the
		// identity otherwise sound).
		if _, err := pull.Inspect(t.Context(), store, "big", pull.Options{MaxMetadataSize: 8 << 20}); err != nil {
			t.Errorf("inspect with an 8 MiB cap: %v", err)
		}
	})
	comp := testutil.LoadExample(t, "minimal")
	for _, src := range sources {
		t.Run("cap 100 bytes/"+src.Name, func(t *testing.T) {
			store := src.Open(t, func(dst oras.Target) { testutil.Push(t, dst, comp, tag) })
			parent := t.TempDir()
			before := snapshot(t, parent)
			_, err := pull.Pull(t.Context(), store, tag, filepath.Join(parent, "out"), pull.PullOptions{Options: pull.Options{MaxMetadataSize: 100}})
			testutil.WantVerificationError(t, err, "manifest-size")
			assertUnchanged(t, parent, before)
		})
	}
	t.Run("identity document over cap", func(t *testing.T) {
		// A manifest under the cap whose config descriptor claims more.
		var m ocispec.Manifest
		if err := json.Unmarshal(comp.Identity.ManifestBytes, &m); err != nil {
			t.Fatal(err)
		}
		m.Config.Size = 1 << 40
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		store, _ := testutil.NewLayout(t)
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := store.Push(t.Context(), desc, strings.NewReader(string(b))); err != nil {
			t.Fatal(err)
		}
		_, err = pull.Inspect(t.Context(), store, desc.Digest.String(), pull.Options{})
		testutil.WantVerificationError(t, err, "config-size")
	})
}

// TestNotFound checks that a missing reference is ErrNotFound, not a
// verification failure.
func TestNotFound(t *testing.T) {
	comp := testutil.LoadExample(t, "minimal")
	for _, src := range sources {
		for _, ref := range []string{"nope", digest.FromString("nothing").String()} {
			t.Run(src.Name+"/"+ref, func(t *testing.T) {
				store := src.Open(t, func(dst oras.Target) { testutil.Push(t, dst, comp, tag) })
				_, err := pull.Verify(t.Context(), store, ref, pull.VerifyOptions{})
				var ve *pull.VerificationError
				if !errors.Is(err, pull.ErrNotFound) || errors.As(err, &ve) {
					t.Errorf("error = %v, want ErrNotFound", err)
				}
			})
		}
	}
	for _, ref := range []string{"", "sha256:short", "md5:0123"} {
		t.Run("invalid "+ref, func(t *testing.T) {
			store, _ := testutil.NewLayout(t)
			if _, err := pull.Resolve(t.Context(), store, ref, pull.Options{}); !errors.Is(err, pull.ErrInvalidReference) {
				t.Errorf("error = %v, want ErrInvalidReference", err)
			}
		})
	}
}

// TestSymlinkInDir plants symbolic links in the extraction directory:
// Pull must refuse with ErrUnsafePath before fetching, and write nothing
// inside or outside the directory, even with Overwrite.
func TestSymlinkInDir(t *testing.T) {
	for _, tc := range []struct {
		name      string
		component string
		plant     func(t *testing.T, dir, outside string)
	}{
		{name: "parent links outside", component: "link/x", plant: func(t *testing.T, dir, outside string) {
			symlink(t, outside, filepath.Join(dir, "link"))
		}},
		{name: "deeper parent links outside", component: "a/link/x", plant: func(t *testing.T, dir, outside string) {
			if err := os.Mkdir(filepath.Join(dir, "a"), 0o755); err != nil {
				t.Fatal(err)
			}
			symlink(t, outside, filepath.Join(dir, "a", "link"))
		}},
		{name: "parent links inside", component: "link/x", plant: func(t *testing.T, dir, _ string) {
			if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
				t.Fatal(err)
			}
			symlink(t, "real", filepath.Join(dir, "link"))
		}},
		{name: "file links outside", component: "x.txt", plant: func(t *testing.T, dir, outside string) {
			symlink(t, filepath.Join(outside, "x.txt"), filepath.Join(dir, "x.txt"))
		}},
		{name: "dangling link", component: "link/x", plant: func(t *testing.T, dir, _ string) {
			symlink(t, "/nonexistent/runid", filepath.Join(dir, "link"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := pushOneContext(t, t.TempDir(), `{name: `+tc.component+`, text: "planted"}`)

			parent := t.TempDir()
			dir, outside := filepath.Join(parent, "out"), filepath.Join(parent, "outside")
			for _, d := range []string{dir, outside} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			tc.plant(t, dir, outside)
			before := snapshot(t, parent)
			for _, overwrite := range []bool{false, true} {
				_, err := pull.Pull(t.Context(), store, tag, dir, pull.PullOptions{Overwrite: overwrite})
				if !errors.Is(err, pull.ErrUnsafePath) {
					t.Fatalf("overwrite %v: error = %v, want ErrUnsafePath", overwrite, err)
				}
				assertUnchanged(t, parent, before)
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func writeFile0(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWithheld checks that a withheld component's commitment blob is
// fetched and verified but not written.
func TestWithheld(t *testing.T) {
	// An identity whose input is withheld, built by hand.
	hc := withheldCase(t)
	for _, tc := range []struct {
		name   string
		blobs  func([]string) []string
		checks []string
	}{
		{name: "verified", blobs: func(b []string) []string { return b }},
		{name: "commitment missing", blobs: func(b []string) []string { return b[:len(b)-1] }, checks: []string{"blob-missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := hc
			c.Blobs = tc.blobs(hc.Blobs)
			store, _ := testutil.NewLayout(t)
			pushRaw(t, store, c)
			dir := t.TempDir()
			rep, err := pull.Pull(t.Context(), store, tag, dir, pull.PullOptions{})
			if tc.checks != nil {
				testutil.WantVerificationError(t, err, tc.checks...)
				if files := readTree(t, dir); len(files) != 0 {
					t.Errorf("wrote %v", keys(files))
				}
				return
			}
			if err != nil || !rep.Verified {
				t.Fatalf("pull: %v", err)
			}
			files := readTree(t, dir)
			if _, ok := files["input/messages.json"]; ok {
				t.Errorf("the withheld component was written")
			}
			if len(files) != 3 {
				t.Errorf("files = %v, want the 3 disclosed components", keys(files))
			}
			found := false
			for _, ch := range rep.Checks {
				found = found || (ch.Check == "blob-digest" && ch.Subject == "input/messages.json" && ch.OK)
			}
			if !found {
				t.Errorf("no passed blob-digest check for the withheld component: %+v", rep.Checks)
			}
		})
	}
}

// withheldCase is the minimal example with its input replaced by a
// commitment document; the commitment blob is the last of Blobs.
func withheldCase(t *testing.T) hostileCase {
	t.Helper()
	comp := testutil.LoadExample(t, "minimal")
	var m ocispec.Manifest
	var d struct {
		SpecVersion string            `json:"specVersion"`
		Roles       map[string]string `json:"roles"`
		Components  []map[string]any  `json:"components"`
	}
	if err := json.Unmarshal(comp.Identity.ManifestBytes, &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(comp.Identity.DocumentBytes, &d); err != nil {
		t.Fatal(err)
	}
	commitment := `{"algorithm":"hmac-sha256","commitment":"` + strings.Repeat("ab", 32) + `","mediaType":"application/vnd.runid.input.v1+json"}`
	cd := digest.FromString(commitment)
	var blobs []string
	for i, c := range comp.Components {
		if c.Role != mediatype.RoleInput {
			blobs = append(blobs, string(testutil.ComponentBytes(t, c)))
			continue
		}
		m.Layers[i].MediaType, m.Layers[i].Digest, m.Layers[i].Size = mediatype.Withheld, cd, int64(len(commitment))
		d.Components[i]["mediaType"], d.Components[i]["digest"], d.Components[i]["size"] = mediatype.Withheld, cd, len(commitment)
		d.Roles[mediatype.RoleInput] = mediatype.StateWithheld
	}
	blobs = append(blobs, commitment)
	docBytes, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	m.Config.Digest, m.Config.Size = digest.FromBytes(docBytes), int64(len(docBytes))
	mBytes, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return hostileCase{Name: "withheld", Manifest: string(mBytes), Document: string(docBytes), Blobs: blobs}
}
