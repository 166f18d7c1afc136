package layout

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pull"
)

// TestOrasDiscoverOldManifests shows, with the oras CLI, what oras finds
// in a layout once manifests have left index.json's top level for a
// segment (docs/store.md, "Segments"): with a window of 4 recent
// manifests, the first identities and their records are folded into
// segments after a few pushes.
//
//   - oras discover of a tagged subject lists every record, old ones
//     included: oras-go walks the segments listed in index.json;
//   - oras resolves a recent untagged manifest by digest;
//   - oras does not resolve an old untagged manifest by digest (it takes
//     it for a plain blob): runid-oci's discover lists its records, and
//     once tagged (runid-oci copy to DIR:tag, here Store.Tag) oras
//     discovers it by tag.
func TestOrasDiscoverOldManifests(t *testing.T) {
	orasBin := clitools.Oras(t)
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "layout")
	s, err := Open(ctx, dir, Options{Create: true, recent: 4})
	if err != nil {
		t.Fatal(err)
	}
	answer := filepath.Join(t.TempDir(), "answer.txt")
	if err := os.WriteFile(answer, []byte("answer"), 0o644); err != nil {
		t.Fatal(err)
	}
	attach := func(subject string) digest.Digest {
		t.Helper()
		res, err := referrer.Attach(ctx, s, subject, []referrer.OutputFile{{Path: answer}}, referrer.AttachOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Descriptor.Digest
	}
	// A tagged identity, and its first record, written first.
	tagged, err := pack.Push(ctx, s, composeRun(t, 0), pack.PushOptions{Tag: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	oldRecordOfTagged := attach("kept")
	// An untagged identity and its record, written next.
	old, err := pack.Push(ctx, s, composeRun(t, 1), pack.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oldRecord := attach(old.Descriptor.Digest.String())
	// Enough newer identities and records to fold both into segments.
	var recent digest.Digest
	for i := 2; i < 14; i++ {
		r, err := pack.Push(ctx, s, composeRun(t, i), pack.PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		recent = r.Descriptor.Digest
		attach(recent.String())
	}
	top := topLevel(t, dir)
	for _, d := range []digest.Digest{old.Descriptor.Digest, oldRecord, oldRecordOfTagged} {
		if top[d] {
			t.Fatalf("%s is still at index.json's top level: the test needs it folded into a segment", d)
		}
	}
	if !top[recent] {
		t.Fatalf("recent identity %s is not at index.json's top level", recent)
	}

	oras := func(args ...string) (string, error) {
		b, err := exec.CommandContext(ctx, orasBin, args...).CombinedOutput()
		return string(b), err
	}
	// A tagged subject: oras lists its old record, found through a segment.
	out, err := oras("discover", "--oci-layout", dir+":kept", "--format", "json")
	if err != nil || !strings.Contains(out, oldRecordOfTagged.String()) {
		t.Errorf("oras discover of tag kept does not list its old record %s: %v\n%s", oldRecordOfTagged, err, out)
	}
	// A recent untagged subject resolves by digest.
	if out, err := oras("discover", "--oci-layout", dir+"@"+recent.String(), "--format", "json"); err != nil {
		t.Errorf("oras discover of the recent identity %s: %v\n%s", recent, err, out)
	}
	// An old untagged subject does not: oras-go resolves a digest from
	// index.json's top level only, else as a blob. If this starts to
	// work, say so in docs/store.md.
	if out, err := oras("discover", "--oci-layout", dir+"@"+old.Descriptor.Digest.String(), "--format", "json"); err == nil && strings.Contains(out, oldRecord.String()) {
		t.Errorf("oras now discovers the old untagged identity by digest: update docs/store.md (Segments)")
	} else {
		t.Logf("oras discover of an old untagged identity by digest, as documented, fails: %v: %s", err, strings.TrimSpace(out))
	}
	// What works instead: runid-oci discovers it by digest ...
	tree, err := pull.Discover(ctx, s, old.Descriptor.Digest.String(), pull.DiscoverOptions{})
	if err != nil || !hasReferrer(tree, oldRecord) {
		t.Errorf("runid-oci discover of the old identity does not list %s: %v", oldRecord, err)
	}
	// ... and once tagged, oras discovers it by tag.
	if err := s.Tag(ctx, old.Descriptor, "found"); err != nil {
		t.Fatal(err)
	}
	out, err = oras("discover", "--oci-layout", dir+":found", "--format", "json")
	if err != nil || !strings.Contains(out, oldRecord.String()) {
		t.Errorf("oras discover of tag found does not list %s: %v\n%s", oldRecord, err, out)
	}
	_ = tagged
}

// topLevel returns the digests index.json lists at its top level.
func topLevel(t *testing.T, dir string) map[digest.Digest]bool {
	t.Helper()
	s := &Store{root: dir}
	idx, _, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	out := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		if d.Annotations[ocispec.AnnotationRefName] == "" {
			out[d.Digest] = true
		}
	}
	return out
}

func hasReferrer(tree *pull.Tree, d digest.Digest) bool {
	found := false
	if tree != nil {
		tree.Walk(func(n *pull.Node, depth int) {
			if depth > 0 && n.Descriptor.Digest == d {
				found = true
			}
		})
	}
	return found
}
