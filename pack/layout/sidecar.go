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
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxEntrySize caps the sidecar files the store reads (one descriptor).
const maxEntrySize = 256 << 10

// memIndex holds tags and referrers in memory when the sidecar on disk is
// out of date and cannot be written.
type memIndex struct {
	mu   sync.RWMutex
	tags map[string]ocispec.Descriptor
	refs map[digest.Digest]map[digest.Digest]ocispec.Descriptor
}

func newMemIndex() *memIndex {
	return &memIndex{tags: map[string]ocispec.Descriptor{}, refs: map[digest.Digest]map[digest.Digest]ocispec.Descriptor{}}
}

func (s *Store) tagPath(tag string) string { return filepath.Join(s.sidecar, "tags", tag) }

func (s *Store) tag(name string) (ocispec.Descriptor, bool, error) {
	if m := s.mem; m != nil {
		m.mu.RLock()
		defer m.mu.RUnlock()
		d, ok := m.tags[name]
		return d, ok, nil
	}
	p := s.tagPath(name)
	b, err := readCapped(p, maxEntrySize)
	if errors.Is(err, fs.ErrNotExist) {
		return ocispec.Descriptor{}, false, nil
	}
	if err != nil {
		return ocispec.Descriptor{}, false, fmt.Errorf("resolve %s: %w", name, err)
	}
	var d ocispec.Descriptor
	if err := json.Unmarshal(b, &d); err != nil || d.Digest.Validate() != nil {
		return ocispec.Descriptor{}, false, fmt.Errorf("resolve %s: %s: %w: not a descriptor (runid-oci layout repair rebuilds it)", name, p, ErrDamaged)
	}
	return d, true, nil
}

func (s *Store) tagNames() ([]string, error) {
	if m := s.mem; m != nil {
		m.mu.RLock()
		defer m.mu.RUnlock()
		out := make([]string, 0, len(m.tags))
		for t := range m.tags {
			out = append(out, t)
		}
		sort.Strings(out)
		return out, nil
	}
	ents, err := os.ReadDir(filepath.Join(s.sidecar, "tags"))
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", s.root, err)
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		if tagPattern.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *Store) writeTag(name string, d ocispec.Descriptor) error {
	if m := s.mem; m != nil {
		m.mu.Lock()
		m.tags[name] = d
		m.mu.Unlock()
		return nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return writeAtomic(s.fs, s.tmpDir, s.tagPath(name), b)
}

func (s *Store) removeTag(name string) error {
	if m := s.mem; m != nil {
		m.mu.Lock()
		delete(m.tags, name)
		m.mu.Unlock()
		return nil
	}
	if err := s.fs.Remove(s.tagPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s *Store) referrerDir(subject digest.Digest) string {
	hex := subject.Encoded()
	return filepath.Join(s.sidecar, "referrers", subject.Algorithm().String(), hex[:2], hex)
}

// putReferrer records d as a referrer of subject.
func (s *Store) putReferrer(subject, d ocispec.Descriptor) error {
	return s.putReferrerFile(subject, d, false)
}

// putReferrerUnflushed is putReferrer for a push or a replay that a commit
// follows: the file is renamed into place unflushed and the commit flushes
// it, with the other files of its manifest, before index.json lists the
// manifest; until then the journal or the commit's waiter covers it.
func (s *Store) putReferrerUnflushed(subject, d ocispec.Descriptor) error {
	return s.putReferrerFile(subject, d, true)
}

func (s *Store) putReferrerFile(subject, d ocispec.Descriptor, unflushed bool) error {
	if subject.Digest.Validate() != nil {
		return nil
	}
	if m := s.mem; m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.refs[subject.Digest] == nil {
			m.refs[subject.Digest] = map[digest.Digest]ocispec.Descriptor{}
		}
		m.refs[subject.Digest][d.Digest] = d
		return nil
	}
	dir := s.referrerDir(subject.Digest)
	if err := s.mkdirDurable(dir, 3); err != nil {
		return err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, digestName(d.Digest))
	if unflushed {
		return writeRenamedUnflushed(s.fs, s.tmpDir, p, func(w io.Writer) error {
			_, err := w.Write(b)
			return err
		}, s.deferFile)
	}
	return s.writeDeferred(p, b)
}

// mkdirDurable creates dir and flushes the parents of the directories it
// created, up to levels above dir.
func (s *Store) mkdirDurable(dir string, levels int) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if err := s.fs.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	for p := dir; levels > 0; levels-- {
		p = filepath.Dir(p)
		s.deferDir(p)
	}
	return nil
}

func (s *Store) referrers(subject digest.Digest) ([]ocispec.Descriptor, error) {
	if subject.Validate() != nil {
		return nil, nil
	}
	if m := s.mem; m != nil {
		m.mu.RLock()
		defer m.mu.RUnlock()
		var out []ocispec.Descriptor
		for _, d := range m.refs[subject] {
			out = append(out, d)
		}
		sortDescriptors(out)
		return out, nil
	}
	dir := s.referrerDir(subject)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
	}
	out := make([]ocispec.Descriptor, 0, len(ents))
	for _, e := range ents {
		want, ok := splitDigestName(e.Name())
		if !ok {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := readCapped(p, maxEntrySize)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
		}
		var d ocispec.Descriptor
		if err := json.Unmarshal(b, &d); err != nil || d.Digest != want {
			return nil, fmt.Errorf("list referrers of %s: %s: %w: not the referrer's descriptor (runid-oci layout repair rebuilds it)", subject, p, ErrDamaged)
		}
		out = append(out, d)
	}
	sortDescriptors(out)
	return out, nil
}

func sortDescriptors(ds []ocispec.Descriptor) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Digest < ds[j].Digest })
}

func (s *Store) removeReferrer(subject, ref digest.Digest) error {
	if m := s.mem; m != nil {
		m.mu.Lock()
		delete(m.refs[subject], ref)
		m.mu.Unlock()
		return nil
	}
	dir := s.referrerDir(subject)
	if err := s.fs.Remove(filepath.Join(dir, digestName(ref))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return s.fs.SyncDir(dir)
}

func (s *Store) tombstonePath(d digest.Digest) string {
	return filepath.Join(s.sidecar, "deleted", digestName(d))
}

func (s *Store) putTombstone(d digest.Digest) error {
	if s.mem != nil {
		return nil
	}
	return writeAtomic(s.fs, s.tmpDir, s.tombstonePath(d), nil)
}

func (s *Store) clearTombstone(d digest.Digest) error {
	if s.mem != nil {
		return nil
	}
	p := s.tombstonePath(d)
	if _, err := os.Lstat(p); err != nil {
		return nil
	}
	if err := s.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return s.fs.SyncDir(filepath.Dir(p))
}

func (s *Store) tombstoned(d digest.Digest) bool {
	_, err := os.Lstat(s.tombstonePath(d))
	return err == nil
}

// indexState identifies the index.json the store last wrote.
type indexState struct {
	Size    int64         `json:"size"`
	ModTime int64         `json:"modTime"`
	Digest  digest.Digest `json:"digest"`
}

func stateOf(fi fs.FileInfo, d digest.Digest) indexState {
	return indexState{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Digest: d}
}

func (st indexState) matches(fi fs.FileInfo) bool {
	return st.Size == fi.Size() && st.ModTime == fi.ModTime().UnixNano()
}

// indexCache is the index.json this store last wrote, kept so that the
// next commit does not read and parse it again: parsing it was half of a
// commit's CPU, and commits are serial.
type indexCache struct {
	lines *indexLines
	fi    fs.FileInfo
}

// cachedLines returns the index.json this store last wrote, when the file
// is still that one (the same file, size and modification time, as
// ensureFresh decides for other programs' writes), or nil. Call it under
// the layout's lock.
func (s *Store) cachedLines() *indexLines {
	c := s.lastIndex
	if c.lines == nil {
		return nil
	}
	fi, err := os.Stat(filepath.Join(s.root, indexFile))
	if err != nil || !os.SameFile(fi, c.fi) || fi.Size() != c.fi.Size() || !fi.ModTime().Equal(c.fi.ModTime()) {
		return nil
	}
	return c.lines
}

func (s *Store) statePath() string { return filepath.Join(s.sidecar, "state.json") }

func (s *Store) readState() (indexState, bool) {
	b, err := readCapped(s.statePath(), maxEntrySize)
	if err != nil {
		return indexState{}, false
	}
	var st indexState
	if json.Unmarshal(b, &st) != nil {
		return indexState{}, false
	}
	return st, true
}

func (s *Store) writeState(st indexState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	// A lost or stale state only makes the next open index index.json
	// again: it is renamed into place, not flushed.
	return writeUnflushed(s.fs, s.tmpDir, s.statePath(), b)
}

// ensureFresh makes the store's tags and referrers match index.json when
// another program (oras, an older runid-oci) wrote it: on disk under the
// lock when it can, in memory otherwise.
func (s *Store) ensureFresh(ctx context.Context) error {
	ip := filepath.Join(s.root, indexFile)
	fi, err := os.Stat(ip)
	if err != nil {
		return fmt.Errorf("open OCI layout %s: %w", s.root, err)
	}
	st, ok := s.readState()
	if ok && st.matches(fi) {
		return nil
	}
	if !s.opts.ReadOnly && s.lock != nil {
		unlock, err := s.lockLayout(ctx)
		if err != nil {
			return err
		}
		defer unlock()
		_, err = s.syncLocked(ctx)
		if err == nil || !isUnwritable(err) {
			return err
		}
	}
	idx, _, err := s.readIndex()
	if err != nil {
		return err
	}
	s.mem = newMemIndex()
	return s.syncFrom(ctx, idx, true)
}

// syncLocked, under the lock, brings the sidecar up to date with
// index.json if it is not, and returns index.json.
func (s *Store) syncLocked(ctx context.Context) (*ocispec.Index, error) {
	idx, fi, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	st, ok := s.readState()
	if ok && st.matches(fi) {
		return idx, nil
	}
	if err := s.syncFrom(ctx, idx, !ok); err != nil {
		return nil, err
	}
	return idx, s.writeState(stateOf(fi, ""))
}

// syncFrom records the tags of idx and the referrers among the manifests
// it reaches. Segments are skipped unless full: the store indexed their
// manifests when it wrote them.
func (s *Store) syncFrom(ctx context.Context, idx *ocispec.Index, full bool) error {
	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor, depth int) error
	walk = func(d ocispec.Descriptor, depth int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if seen[d.Digest] || depth > 16 || !isManifest(d.MediaType) {
			return nil
		}
		seen[d.Digest] = true
		p, err := s.blobPath(d.Digest)
		if err != nil {
			return nil
		}
		b, err := readCapped(p, MaxManifestSize)
		if err != nil {
			return nil // missing or unreadable: check reports it
		}
		desc, subject, err := describeManifest(plainDesc(d), b)
		if err != nil {
			return nil
		}
		if subject != nil {
			if err := s.putReferrer(*subject, desc); err != nil {
				return err
			}
		}
		if d.MediaType == ocispec.MediaTypeImageIndex || d.MediaType == "application/vnd.docker.distribution.manifest.list.v2+json" {
			var child ocispec.Index
			if json.Unmarshal(b, &child) == nil {
				for _, c := range child.Manifests {
					if err := walk(c, depth+1); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	want := map[string]ocispec.Descriptor{}
	for _, e := range idx.Manifests {
		if ref := e.Annotations[ocispec.AnnotationRefName]; ref != "" && tagPattern.MatchString(ref) {
			d := e
			d.Annotations = withoutRefName(e.Annotations)
			want[ref] = d
		}
		if !full && isSegment(e) {
			continue
		}
		if err := walk(e, 0); err != nil {
			return err
		}
	}
	have, err := s.tagNames()
	if err != nil {
		return err
	}
	for _, t := range have {
		if _, ok := want[t]; !ok {
			if err := s.removeTag(t); err != nil {
				return err
			}
		}
	}
	for t, d := range want {
		if cur, ok, err := s.tag(t); err == nil && ok && equalDesc(cur, d) {
			continue
		}
		if err := s.writeTag(t, d); err != nil {
			return err
		}
	}
	return nil
}

func plainDesc(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

func equalDesc(a, b ocispec.Descriptor) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
