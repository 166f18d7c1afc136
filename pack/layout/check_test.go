package layout

import (
	"os"
	"path/filepath"
	"testing"

	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
)

func problemKinds(r *CheckReport) map[string]int {
	out := map[string]int{}
	for _, p := range r.Problems {
		out[p.Kind]++
	}
	return out
}

func TestCheckAndRepair(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	seed(t, dir, 1)
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var reports []report
	for i := range 3 {
		got, err := writeEach(t, s, i)
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, got...)
	}
	// The deferred listings of the records are committed before the
	// layout is damaged below.
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Healthy {
		t.Fatalf("fresh layout not healthy: %+v", rep.Problems)
	}

	// Damage: index.json cut at half, a stray temporary file, a layer
	// that is not the layout's (corrupt) — then repair.
	ib := indexBytes(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), ib[:len(ib)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "ingest"), 0o755)
	stray := filepath.Join(dir, "ingest", "sha256_123")
	os.WriteFile(stray, []byte("partial"), 0o644)
	old := testTime()
	os.Chtimes(stray, old, old)
	junk := filepath.Join(dir, "blobs", "sha256", "0000000000000000000000000000000000000000000000000000000000000000")
	os.WriteFile(junk, []byte("junk"), 0o644)

	if _, err := Open(t.Context(), dir, Options{}); err == nil {
		t.Error("a layout whose index.json is cut opens")
	}
	rep, err = Check(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := problemKinds(rep)
	for _, k := range []string{ProblemIndex, ProblemTempFile, ProblemCorruptBlob} {
		if kinds[k] == 0 {
			t.Errorf("check does not report %s: %+v", k, rep.Problems)
		}
	}
	rr, err := Repair(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if rr.TempFilesRemoved != 1 || len(rr.Quarantined) != 1 {
		t.Errorf("repair: %+v", rr)
	}
	rep, err = Check(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Healthy {
		t.Errorf("not healthy after repair: %+v", rep.Problems)
	}
	checkReports(t, dir, reports)
	if _, err := oci.NewWithContext(t.Context(), dir); err != nil {
		t.Errorf("oras-go cannot open the repaired layout: %v", err)
	}
}

// TestRepairTruncatedByOrasGo repairs a layout that oras-go's store wrote
// and whose index.json was cut at 4096 bytes, as a full disk leaves it:
// every identity, record and signature is found again, and the tags the
// sidecar or the cut index kept resolve.
func TestRepairTruncatedByOrasGo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	o, err := oci.NewWithContext(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 40 {
		res, err := pack.Push(t.Context(), o, composeRun(t, i), pack.PushOptions{Tag: "run-" + string(rune('a'+i%26)) + string(rune('a'+i/26))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Descriptor.Digest.String())
	}
	key := newKey(t)
	signed, err := sign.Sign(t.Context(), o, ids[0], key, sign.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ib := indexBytes(t, dir)
	if len(ib) <= 4096 {
		t.Fatalf("index.json of %d bytes", len(ib))
	}
	os.WriteFile(filepath.Join(dir, "index.json"), ib[:4096], 0o644)
	if _, err := Repair(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := s.Resolve(t.Context(), id); err != nil {
			t.Errorf("identity %s lost: %v", id, err)
		}
	}
	desc, _ := s.Resolve(t.Context(), ids[0])
	sigTag := digestName(desc.Digest) + ".sig"
	if d, err := s.Resolve(t.Context(), sigTag); err != nil || d.Digest != signed.Signature.Digest {
		t.Errorf("signature tag %s: %v %v", sigTag, d.Digest, err)
	}
	rep, err := Check(t.Context(), dir)
	if err != nil || !rep.Healthy {
		t.Errorf("after repair: %v %+v", err, rep)
	}
}
