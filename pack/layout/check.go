package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Problem kinds that Check reports.
const (
	ProblemLayoutFile  = "layout-file"  // oci-layout missing or invalid
	ProblemIndex       = "index"        // index.json unreadable or invalid
	ProblemMissingBlob = "missing-blob" // a listed or referenced blob is not stored
	ProblemCorruptBlob = "corrupt-blob" // a blob's bytes do not match its name
	ProblemDanglingTag = "dangling-tag" // a tag names a manifest that is not stored
	ProblemSidecar     = "sidecar"      // the store's tags or referrers disagree with the layout
	ProblemTempFile    = "temp-file"    // a temporary file no live writer holds
)

// Problem is one thing wrong with a layout.
type Problem struct {
	Kind    string        `json:"kind"`
	Path    string        `json:"path,omitempty"`
	Digest  digest.Digest `json:"digest,omitempty"`
	Message string        `json:"message"`
}

// CheckReport is what Check found.
type CheckReport struct {
	// Dir is the layout checked.
	Dir string `json:"dir"`
	// Healthy is true when there is no problem.
	Healthy bool `json:"healthy"`
	// Blobs counts the blobs read and hashed.
	Blobs int `json:"blobs"`
	// Manifests counts the manifests and indexes among them.
	Manifests int `json:"manifests"`
	// Tags counts the tags in index.json.
	Tags int `json:"tags"`
	// Problems lists every problem found.
	Problems []Problem `json:"problems"`
}

func (r *CheckReport) add(kind, path string, d digest.Digest, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Kind: kind, Path: path, Digest: d, Message: fmt.Sprintf(format, args...)})
}

// blobInfo is what a scan of the blobs learnt of one blob.
type blobInfo struct {
	path      string
	size      int64
	mediaType string // a manifest's or index's, else ""
	raw       []byte // a manifest's or index's bytes
}

// scanBlobs hashes every blob of the layout. Corrupt blobs are reported to
// bad and left out.
func scanBlobs(ctx context.Context, root string, bad func(path string, d digest.Digest, msg string)) (map[digest.Digest]*blobInfo, error) {
	out := map[digest.Digest]*blobInfo{}
	blobs := filepath.Join(root, ocispec.ImageBlobsDir)
	algs, err := os.ReadDir(blobs)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, a := range algs {
		alg := digest.Algorithm(a.Name())
		if !a.IsDir() || !alg.Available() {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(blobs, a.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			p := filepath.Join(blobs, a.Name(), e.Name())
			d := digest.NewDigestFromEncoded(alg, e.Name())
			if d.Validate() != nil {
				bad(p, "", "not a blob name")
				continue
			}
			if !e.Type().IsRegular() {
				bad(p, d, "not a regular file")
				continue
			}
			info, err := hashBlob(p, d)
			if err != nil {
				bad(p, d, err.Error())
				continue
			}
			out[d] = info
		}
	}
	return out, nil
}

func hashBlob(p string, d digest.Digest) (*blobInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v := d.Verifier()
	var head []byte
	n, err := io.Copy(io.MultiWriter(v, &capture{buf: &head, limit: MaxManifestSize}), f)
	if err != nil {
		return nil, err
	}
	if !v.Verified() {
		return nil, errors.New("content does not match its digest")
	}
	info := &blobInfo{path: p, size: n}
	if n <= MaxManifestSize {
		if mt := sniffManifest(head); mt != "" {
			info.mediaType, info.raw = mt, head
		}
	}
	return info, nil
}

// capture keeps the first limit bytes written to it.
type capture struct {
	buf   *[]byte
	limit int
}

func (c *capture) Write(p []byte) (int, error) {
	if room := c.limit + 1 - len(*c.buf); room > 0 {
		*c.buf = append(*c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Check reads the whole layout at dir: oci-layout, index.json, every blob
// (hashed), every manifest's references, the tags and the store's sidecar,
// and the temporary files. It changes nothing. The error is for a layout
// that could not be checked at all.
func Check(ctx context.Context, dir string) (*CheckReport, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("check OCI layout %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("check OCI layout %s: not a directory", dir)
	}
	rep := &CheckReport{Dir: dir, Problems: []Problem{}}
	s := &Store{root: dir, sidecar: filepath.Join(dir, sidecarDir), fs: osFS{}}
	s.tmpDir = filepath.Join(s.sidecar, "tmp")
	if err := s.checkLayoutFiles(); err != nil {
		rep.add(ProblemLayoutFile, filepath.Join(dir, ocispec.ImageLayoutFile), "", "%v", err)
	}
	blobs, err := scanBlobs(ctx, dir, func(p string, d digest.Digest, msg string) {
		rep.add(ProblemCorruptBlob, p, d, "%s", msg)
	})
	if err != nil {
		return nil, fmt.Errorf("check OCI layout %s: %w", dir, err)
	}
	rep.Blobs = len(blobs) + len(rep.Problems)
	for _, b := range blobs {
		if b.mediaType != "" {
			rep.Manifests++
		}
	}
	corrupt := map[digest.Digest]bool{}
	for _, p := range rep.Problems {
		if p.Kind == ProblemCorruptBlob && p.Digest != "" {
			corrupt[p.Digest] = true
		}
	}
	has := func(d digest.Digest) bool { _, ok := blobs[d]; return ok || corrupt[d] }

	idx, _, ierr := s.readIndex()
	if ierr != nil {
		rep.add(ProblemIndex, filepath.Join(dir, indexFile), "", "%v", ierr)
	}
	// Every manifest reachable from index.json: its blobs exist.
	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor, from string)
	walk = func(d ocispec.Descriptor, from string) {
		if seen[d.Digest] {
			return
		}
		seen[d.Digest] = true
		if !has(d.Digest) {
			if !s.tombstoned(d.Digest) {
				rep.add(ProblemMissingBlob, "", d.Digest, "%s lists %s, which is not stored", from, d.Digest)
			}
			return
		}
		b := blobs[d.Digest]
		if b == nil || b.mediaType == "" {
			return
		}
		refs := references(b)
		for _, r := range refs.blobs {
			if !has(r.Digest) {
				rep.add(ProblemMissingBlob, "", r.Digest, "manifest %s references %s, which is not stored", d.Digest, r.Digest)
			}
		}
		for _, c := range refs.children {
			walk(c, "index "+d.Digest.String())
		}
	}
	wantTags := map[string]digest.Digest{}
	if idx != nil {
		for _, e := range idx.Manifests {
			if ref := e.Annotations[ocispec.AnnotationRefName]; ref != "" {
				rep.Tags++
				wantTags[ref] = e.Digest
				if !has(e.Digest) {
					rep.add(ProblemDanglingTag, "", e.Digest, "tag %s names %s, which is not stored", ref, e.Digest)
					continue
				}
			}
			walk(e, "index.json")
		}
	}
	// The sidecar agrees with index.json when its state says it is up to
	// date with it.
	if idx != nil {
		if st, ok := s.readState(); ok {
			if fi, err := os.Stat(filepath.Join(dir, indexFile)); err == nil && st.matches(fi) {
				names, _ := s.tagNames()
				for _, n := range names {
					d, ok, err := s.tag(n)
					switch {
					case err != nil:
						rep.add(ProblemSidecar, s.tagPath(n), "", "%v", err)
					case ok && wantTags[n] != d.Digest:
						rep.add(ProblemSidecar, s.tagPath(n), d.Digest, "the store's tag %s names %s, index.json %s", n, d.Digest, wantTags[n])
					}
					delete(wantTags, n)
				}
				for n, d := range wantTags {
					rep.add(ProblemSidecar, s.tagPath(n), d, "index.json tags %s, the store's tags do not", n)
				}
				for d, b := range blobs {
					if b.mediaType == "" || s.tombstoned(d) {
						continue
					}
					desc, subject, err := describeManifest(ocispec.Descriptor{MediaType: b.mediaType, Digest: d, Size: b.size}, b.raw)
					if err != nil || subject == nil {
						continue
					}
					if _, err := os.Stat(filepath.Join(s.referrerDir(subject.Digest), digestName(desc.Digest))); err != nil && seen[d] {
						rep.add(ProblemSidecar, s.referrerDir(subject.Digest), d, "referrer %s of %s is not in the store's referrers", d, subject.Digest)
					}
				}
			}
		}
	}
	for _, lo := range leftovers(dir, s.tmpDir, DefaultStaleAge, time.Now()) {
		if !lo.Live {
			rep.add(ProblemTempFile, lo.Path, "", "temporary file of %d bytes left by a writer (the next writer removes it)", lo.Size)
		}
	}
	rep.Healthy = len(rep.Problems) == 0
	return rep, nil
}

// manifestRefs is what a manifest or index references.
type manifestRefs struct {
	blobs    []ocispec.Descriptor // config and layers
	children []ocispec.Descriptor // an index's manifests
	subject  *ocispec.Descriptor
}

func references(b *blobInfo) manifestRefs {
	var m struct {
		Config    *ocispec.Descriptor  `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
		Manifests []ocispec.Descriptor `json:"manifests"`
		Subject   *ocispec.Descriptor  `json:"subject"`
	}
	var r manifestRefs
	if json.Unmarshal(b.raw, &m) != nil {
		return r
	}
	if m.Config != nil {
		r.blobs = append(r.blobs, *m.Config)
	}
	r.blobs = append(r.blobs, m.Layers...)
	r.children = m.Manifests
	r.subject = m.Subject
	return r
}

type ref struct{ subject, desc ocispec.Descriptor }

func refs2subjects(refs []ref) map[digest.Digest][]digest.Digest {
	out := map[digest.Digest][]digest.Digest{}
	for _, r := range refs {
		out[r.subject.Digest] = append(out[r.subject.Digest], r.desc.Digest)
	}
	return out
}

// simpleSigning is the media type of cosign's signature layers.
const simpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"

// restoreSignatureTags gives back the cosign signature tag
// ("<alg>-<hex>.sig") of every signed manifest that lost it: it names the
// signature manifest with the most signatures among those whose subject
// the manifest is.
func restoreSignatureTags(blobs map[digest.Digest]*blobInfo, referrers map[digest.Digest][]digest.Digest, tags map[string]ocispec.Descriptor) {
	for subject, refs := range referrers {
		tag := digestName(subject) + ".sig"
		if _, ok := tags[tag]; ok || !tagPattern.MatchString(tag) {
			continue
		}
		best, most := digest.Digest(""), 0
		for _, r := range refs {
			b := blobs[r]
			if b == nil || b.mediaType != ocispec.MediaTypeImageManifest {
				continue
			}
			var m ocispec.Manifest
			if json.Unmarshal(b.raw, &m) != nil || len(m.Layers) == 0 {
				continue
			}
			n := 0
			for _, l := range m.Layers {
				if l.MediaType == simpleSigning {
					n++
				}
			}
			if n == len(m.Layers) && (n > most || (n == most && r < best)) {
				best, most = r, n
			}
		}
		if best != "" {
			tags[tag] = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: best, Size: blobs[best].size}
		}
	}
}

// RepairReport is what Repair did.
type RepairReport struct {
	Dir string `json:"dir"`
	// Manifests counts the manifests now listed by index.json.
	Manifests int `json:"manifests"`
	// Tags counts the tags kept.
	Tags int `json:"tags"`
	// TagsLost lists tags that named a manifest no longer stored.
	TagsLost []string `json:"tagsLost"`
	// Referrers counts the referrers indexed.
	Referrers int `json:"referrers"`
	// Quarantined lists the corrupt blobs moved to .runid/quarantine.
	Quarantined []string `json:"quarantined"`
	// TempFilesRemoved counts the leftover temporary files removed.
	TempFilesRemoved int `json:"tempFilesRemoved"`
}

// Repair rebuilds the layout at dir from its blobs, under the layout's
// lock: every manifest stored (identity, output record, signature, link)
// is listed again in index.json through new segments, the tags are kept
// from index.json when it can be read and from the store's tags
// otherwise, the store's referrers are rebuilt, corrupt blobs are moved
// to .runid/quarantine, and leftover temporary files are removed.
// index.json is replaced atomically, so an interrupted repair leaves the
// layout as it was or repaired.
func Repair(ctx context.Context, dir string) (*RepairReport, error) {
	s := &Store{root: dir, sidecar: filepath.Join(dir, sidecarDir), fs: osFS{}}
	s.tmpDir = filepath.Join(s.sidecar, "tmp")
	s.commits.store = s
	if err := s.prepare(ctx); err != nil {
		return nil, fmt.Errorf("repair %s: %w", dir, err)
	}
	unlock, err := s.lockLayout(ctx)
	if err != nil {
		return nil, fmt.Errorf("repair %s: %w", dir, err)
	}
	defer unlock()
	rep := &RepairReport{Dir: dir, TagsLost: []string{}, Quarantined: []string{}}
	if err := s.checkLayoutFiles(); err != nil {
		b, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
		if err := writeAtomic(s.fs, s.tmpDir, filepath.Join(dir, ocispec.ImageLayoutFile), b); err != nil {
			return nil, fmt.Errorf("repair %s: %w", dir, err)
		}
	}
	// Journal files hold the blobs of pushes a crash may have cut off
	// from the disk: put those back first, so that the scan finds them.
	journalDone := map[string][]ocispec.Descriptor{}
	if entries, err := os.ReadDir(s.journalDir()); err == nil {
		for _, e := range entries {
			if _, ok := journalManifest(e.Name()); ok || isJournalLog(e.Name()) {
				jp := filepath.Join(s.journalDir(), e.Name())
				descs, _ := s.replayJournal(ctx, jp)
				journalDone[jp] = descs
			}
		}
	}
	quarantine := filepath.Join(s.sidecar, "quarantine")
	blobs, err := scanBlobs(ctx, dir, func(p string, d digest.Digest, _ string) {
		if s.fs.MkdirAll(quarantine, 0o777) == nil && s.fs.Rename(p, filepath.Join(quarantine, filepath.Base(p))) == nil {
			rep.Quarantined = append(rep.Quarantined, p)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("repair %s: %w", dir, err)
	}

	// Tags: the store's, then index.json's over them.
	tags := map[string]ocispec.Descriptor{}
	if names, err := s.tagNames(); err == nil {
		for _, n := range names {
			if d, ok, err := s.tag(n); err == nil && ok {
				tags[n] = d
			}
		}
	}
	if idx, _, err := s.readIndex(); err == nil {
		for _, e := range idx.Manifests {
			if ref := e.Annotations[ocispec.AnnotationRefName]; ref != "" && tagPattern.MatchString(ref) {
				d := e
				d.Annotations = withoutRefName(e.Annotations)
				tags[ref] = d
			}
		}
	}
	for n, d := range tags {
		if b := blobs[d.Digest]; b == nil {
			rep.TagsLost = append(rep.TagsLost, n)
			delete(tags, n)
		}
	}
	sort.Strings(rep.TagsLost)

	// Manifests: every one stored but the store's own segments.
	var manifests []ocispec.Descriptor
	var refs []ref
	for d, b := range blobs {
		if b.mediaType == "" {
			continue
		}
		desc, subject, err := describeManifest(ocispec.Descriptor{MediaType: b.mediaType, Digest: d, Size: b.size}, b.raw)
		if err != nil || desc.ArtifactType == SegmentArtifactType {
			continue
		}
		manifests = append(manifests, listed(desc))
		if subject != nil {
			refs = append(refs, ref{*subject, desc})
		}
	}
	sortDescriptors(manifests)
	rep.Manifests, rep.Referrers = len(manifests), len(refs)
	restoreSignatureTags(blobs, refs2subjects(refs), tags)

	// The sidecar, rebuilt aside and swapped in.
	for _, sub := range []string{"tags", "referrers", "deleted"} {
		old := filepath.Join(s.sidecar, sub)
		if _, err := os.Stat(old); err == nil {
			aside := filepath.Join(s.tmpDir, "old-"+sub+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
			if err := s.fs.Rename(old, aside); err != nil {
				return nil, fmt.Errorf("repair %s: %w", dir, err)
			}
			defer os.RemoveAll(aside)
		}
		if err := s.fs.MkdirAll(old, 0o777); err != nil {
			return nil, fmt.Errorf("repair %s: %w", dir, err)
		}
	}
	for _, r := range refs {
		if err := s.putReferrer(r.subject, r.desc); err != nil {
			return nil, fmt.Errorf("repair %s: %w", dir, err)
		}
	}

	// index.json: the tags and a tree of segments of at most 4096 entries.
	const leafSize = maxSegmentEntries
	var level []ocispec.Descriptor
	for i := 0; i < len(manifests); i += leafSize {
		seg, err := s.writeSegment(0, manifests[i:min(i+leafSize, len(manifests))])
		if err != nil {
			return nil, fmt.Errorf("repair %s: %w", dir, err)
		}
		level = append(level, seg)
	}
	for l := 1; len(level) >= SegmentFanout; l++ {
		var up []ocispec.Descriptor
		for i := 0; i < len(level); i += leafSize {
			seg, err := s.writeSegment(l, level[i:min(i+leafSize, len(level))])
			if err != nil {
				return nil, fmt.Errorf("repair %s: %w", dir, err)
			}
			up = append(up, seg)
		}
		level = up
	}
	next, err := s.merge(emptyIndex(), nil, tags)
	if err != nil {
		return nil, fmt.Errorf("repair %s: %w", dir, err)
	}
	next.Manifests = append(next.Manifests, level...)
	if err := s.flushDirs(); err != nil {
		return nil, fmt.Errorf("repair %s: %w", dir, err)
	}
	if err := s.writeIndex(next); err != nil {
		return nil, fmt.Errorf("repair %s: %w", dir, err)
	}
	// Journal files name manifests to list: the new index.json lists them.
	listedNow := make(map[digest.Digest]bool, len(manifests))
	for _, m := range manifests {
		listedNow[m.Digest] = true
	}
	// A journal log a live writer holds is its writer's to remove.
	var done []string
	for jp, descs := range journalDone {
		all := len(descs) > 0
		for _, d := range descs {
			all = all && listedNow[d.Digest]
		}
		if all && (!isJournalLog(filepath.Base(jp)) || !s.journalLogHeld(jp)) {
			done = append(done, jp)
		}
	}
	s.removeJournal(done)
	for n, d := range tags {
		if err := s.writeTag(n, d); err != nil {
			return nil, fmt.Errorf("repair %s: %w", dir, err)
		}
	}
	rep.Tags = len(tags)
	fi, err := os.Stat(filepath.Join(dir, indexFile))
	if err != nil {
		return nil, err
	}
	if err := s.writeState(stateOf(fi, "")); err != nil {
		return nil, fmt.Errorf("repair %s: %w", dir, err)
	}
	s.opts.StaleAge = DefaultStaleAge
	for _, lo := range leftovers(dir, s.tmpDir, s.opts.staleAge(), time.Now()) {
		if !lo.Live && s.fs.Remove(lo.Path) == nil {
			rep.TempFilesRemoved++
		}
	}
	return rep, nil
}
