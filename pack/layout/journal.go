package layout

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The journal: with SetDeferIndex, a push of an untagged manifest writes
// the manifest and its blobs into place without flushing them, then
// appends the bytes of the manifest and of every small blob it lists that
// is not flushed yet to the store's journal log (see journalLog) and
// waits for a flush of the log that covers them. A commit in the
// background then flushes the blobs and the manifest where they are and
// lists the manifest in index.json; the log is removed once every push
// in it is listed. After a crash before that commit, the journal is what
// says that the manifest was reported stored, and holds what may not have
// reached the disk: the next commit of any writer puts back from it any
// blob that is missing or damaged and lists the manifest (see
// recoverJournal).
//
// Journal files of the first format (written by earlier versions) are
// still read: one file per push, named <alg>-<hex>.<random> after the
// manifest, holding a header line, then for each blob, the manifest
// first, a line "<digest> <size>" and the blob's bytes.

// journalMagic is a journal file's first line.
const journalMagic = "runid-journal v1\n"

// journalStale is how old a journal file that this store did not write
// must be before a commit takes it over: younger ones belong to a live
// writer that commits them itself.
const journalStale = 10 * time.Second

// deferRetry is the first wait before a background commit that failed is
// tried again; the wait doubles after each failure, up to maxDeferRetry.
const (
	deferRetry    = time.Second
	maxDeferRetry = time.Minute
)

func (s *Store) journalDir() string { return filepath.Join(s.sidecar, "journal") }

// journalManifest returns the manifest a journal file's name gives.
func journalManifest(name string) (digest.Digest, bool) {
	base, _, ok := strings.Cut(name, ".")
	if !ok {
		return "", false
	}
	return splitDigestName(base)
}

// SetDeferIndex makes a push of an untagged manifest return without
// waiting for index.json: once a record holding the manifest and every
// small blob it lists that is not flushed yet is appended to the store's
// journal log (.runid/journal/log-<n>) and flushed, one flush shared by
// the pushes appended meanwhile. A commit in the background then
// flushes the blobs where they are and lists the manifest in index.json,
// for every push waiting at that moment. What the
// push reported survives a crash of the process or of the machine: it
// resolves by digest and lists as a referrer at once (runid-oci reads
// blobs and .runid/, not index.json), and the next commit of any writer
// lists the manifests named in the journal in index.json. Only other
// tools (oras) that read index.json see the manifest a moment later, when
// the background commit is done. Tagged pushes and Tag still wait for
// their commit. Sync waits for the background commits.
//
// The recording proxy turns it on: a request waits for one flush of the
// journal log before it is forwarded, instead of a commit.
func (s *Store) SetDeferIndex(on bool) { s.deferIndex.Store(on) }

// Sync returns once every manifest pushed before the call is listed in
// index.json, or the error of the commit that failed to list it.
func (s *Store) Sync(ctx context.Context) error {
	if s.opts.ReadOnly {
		return nil
	}
	if err := s.commits.commit(ctx, commitRequest{}); err != nil {
		return err
	}
	s.dropIdleJournal()
	return nil
}

// deferring reports whether a push of an untagged manifest defers its
// listing (see SetDeferIndex).
func (s *Store) deferring() bool {
	return s.deferIndex.Load() && s.mem == nil && !s.opts.ReadOnly
}

// pushDeferred finishes the push of an untagged manifest at path, whose
// bytes are b and whose descriptor is desc (see SetDeferIndex): it appends
// the manifest and the blobs it lists that are not flushed yet to the
// store's journal log, flushes the log (one flush shared by the pushes
// appended meanwhile), and queues the manifest's listing in index.json.
// A low-priority push (WithLowPriority, patience above zero) waits that
// long for a flush that another push starts.
func (s *Store) pushDeferred(patience time.Duration, desc ocispec.Descriptor, path string, b []byte) error {
	// Blobs larger than deferSyncMax are flushed before they are renamed
	// into place: only their names need flushing.
	need := []string{s.journalDir()}
	var rec bytes.Buffer
	rec.Grow(len(b) + 64)
	appendJournalEntry(&rec, desc.Digest, b)
	for _, d := range listedBlobs(b) {
		p, err := s.blobPath(d.Digest)
		if err != nil {
			continue
		}
		if !s.sync.dirtyFile(p) {
			// Flushed by a commit, with its directory; or found stored
			// (Exists flushes a recent one): its name may still need
			// flushing.
			if d.Size > deferSyncMax || !s.sync.known(p) {
				need = append(need, p)
			}
			continue
		}
		// The bytes this store pushed, verified then; or the file's.
		data, ok := s.unflushedBytes(p, d.Size)
		if !ok {
			data, err = readCapped(p, deferSyncMax)
			if err != nil || int64(len(data)) != d.Size || digest.FromBytes(data) != d.Digest {
				return fmt.Errorf("journal %s: blob %s: not stored intact", desc.Digest, d.Digest)
			}
		}
		appendJournalEntry(&rec, d.Digest, data)
	}
	fmt.Fprintf(&rec, "%s%s\n", journalEnd, desc.Digest)
	log, seq, err := s.appendJournal(rec.Bytes())
	if err != nil {
		return err
	}
	if patience == 0 {
		s.urgent.begin()
	}
	err = s.flushWithParents(need...)
	if err == nil {
		err = log.syncTo(seq, patience)
	}
	if patience == 0 {
		s.urgent.end()
	}
	if err != nil {
		s.releaseJournal(log.path)
		return err
	}
	s.commits.enqueueDeferred(&pendingCommit{req: commitRequest{manifests: []ocispec.Descriptor{listed(desc)}}, journal: log.path})
	return nil
}

// appendJournalEntry appends one blob to a journal record.
func appendJournalEntry(w *bytes.Buffer, d digest.Digest, data []byte) {
	fmt.Fprintf(w, "%s %d\n", d, len(data))
	w.Write(data)
}

// writeJournalEntry writes one blob into a journal file of the first
// format (one file per push), which readJournal still reads.
func writeJournalEntry(w *bufio.Writer, d digest.Digest, data []byte) error {
	if w.Buffered() == 0 {
		if _, err := w.WriteString(journalMagic); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(w, "%s %d\n", d, len(data)); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// readJournal reads a journal file: the manifest's digest and bytes,
// then the blobs'. It fails unless every entry is whole and has its
// digest.
func readJournal(path string) ([]journalEntry, error) {
	f, r, err := openJournal(path, journalMagic)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []journalEntry
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF && line == "" {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: cut short", path)
		}
		e, err := readJournalEntry(r, strings.TrimSuffix(line, "\n"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	return out, nil
}

// openJournal opens the journal file at path and reads its first line,
// which must be magic.
func openJournal(path, magic string) (*os.File, *bufio.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r := bufio.NewReader(f)
	if m, err := r.ReadString('\n'); err != nil || m != magic {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a journal file", path)
	}
	return f, r, nil
}

// readJournalEntry reads the bytes of the entry whose header line ("digest
// size") is line, and checks them against the digest.
func readJournalEntry(r *bufio.Reader, line string) (journalEntry, error) {
	ds, ns, ok := strings.Cut(line, " ")
	d, derr := digest.Parse(ds)
	n, nerr := strconv.ParseInt(ns, 10, 64)
	if !ok || derr != nil || nerr != nil || n < 0 || n > max(MaxManifestSize, deferSyncMax) {
		return journalEntry{}, fmt.Errorf("bad entry %q", line)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return journalEntry{}, errors.New("cut short")
	}
	if digest.FromBytes(data) != d {
		return journalEntry{}, fmt.Errorf("%s does not match its bytes", d)
	}
	return journalEntry{d, data}, nil
}

type journalEntry struct {
	digest digest.Digest
	data   []byte
}

// flushWithParents flushes what the store changed in files and in their
// directories up to the layout's root.
func (s *Store) flushWithParents(files ...string) error {
	paths := make([]string, 0, 4*len(files))
	seen := map[string]bool{}
	for _, f := range files {
		for p := f; !seen[p]; p = filepath.Dir(p) {
			seen[p] = true
			paths = append(paths, p)
			if p == s.root || len(p) <= len(s.root) {
				break
			}
		}
	}
	return s.sync.flush(paths)
}

// listedBlobs returns the descriptors a manifest or index lists (config,
// layers, blobs, manifests), or nothing when b is not one.
func listedBlobs(b []byte) []ocispec.Descriptor {
	var m struct {
		Config    *ocispec.Descriptor  `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
		Blobs     []ocispec.Descriptor `json:"blobs"`
		Manifests []ocispec.Descriptor `json:"manifests"`
	}
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	out := append(append(append([]ocispec.Descriptor(nil), m.Layers...), m.Blobs...), m.Manifests...)
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	return out
}

// recoverJournal, under the layout's lock, returns the manifests named by
// journal files that no live writer will commit (those of this store's
// own pending listings are in skip; a journal log another writer holds
// locked, or a file of the first format younger than journalStale, is
// left to its writer), and the journal files to remove once they are
// listed. From each push, it puts back every blob that is missing or
// damaged (flushed, as the commit flushes its directory). A push cut
// short, or whose manifest lists a blob neither stored nor in the
// journal, was never reported (a writer reports a push only once it is
// flushed whole) and is dropped.
func (s *Store) recoverJournal(ctx context.Context, skip map[string]bool) ([]ocispec.Descriptor, []string) {
	entries, err := os.ReadDir(s.journalDir())
	if err != nil {
		return nil, nil
	}
	var out []ocispec.Descriptor
	var files []string
	now := time.Now()
	for _, e := range entries {
		jp := filepath.Join(s.journalDir(), e.Name())
		if skip[jp] {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		young := now.Sub(fi.ModTime()) < journalStale
		switch {
		case isJournalLog(e.Name()):
			// A log is created, then locked: a young one may be in between.
			if s.journalLogHeld(jp) || young && fi.Size() <= int64(len(journalLogMagic)) {
				continue
			}
		case young:
			continue
		default:
			if _, ok := journalManifest(e.Name()); !ok {
				continue
			}
		}
		descs, err := s.replayJournal(ctx, jp)
		if err != nil {
			_ = s.fs.Remove(jp)
			continue
		}
		out = append(out, descs...)
		files = append(files, jp)
	}
	return out, files
}

// replayJournal puts back the blobs of the pushes held by the journal
// file jp that are not stored intact, records each manifest as a referrer
// of its subject, and returns the manifests' listings. A push that cannot
// be put back whole is left out.
func (s *Store) replayJournal(ctx context.Context, jp string) ([]ocispec.Descriptor, error) {
	pushes, err := readJournalFile(jp)
	if err != nil {
		return nil, err
	}
	var out []ocispec.Descriptor
	var first error
	for _, ents := range pushes {
		d, err := s.replayPush(ctx, jp, ents)
		if err != nil {
			first = cmp.Or(first, err)
			continue
		}
		out = append(out, d)
	}
	if len(out) == 0 && first != nil {
		return nil, first
	}
	return out, nil
}

// replayPush is replayJournal for one push.
func (s *Store) replayPush(ctx context.Context, jp string, ents []journalEntry) (ocispec.Descriptor, error) {
	for _, e := range ents {
		desc := ocispec.Descriptor{Digest: e.digest, Size: int64(len(e.data))}
		if ok, err := s.Exists(ctx, desc); err == nil && ok {
			continue
		}
		if err := s.putBlobFlushed(desc, e.data); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	m := ents[0]
	desc := ocispec.Descriptor{Digest: m.digest, Size: int64(len(m.data)), MediaType: sniffManifest(m.data)}
	if desc.MediaType == "" {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %s is not a manifest", jp, m.digest)
	}
	for _, c := range listedBlobs(m.data) {
		if ok, err := s.Exists(ctx, c); err != nil || !ok {
			return ocispec.Descriptor{}, fmt.Errorf("%s: %s: %w", jp, c.Digest, errNotStored)
		}
	}
	full, subject, err := describeManifest(desc, m.data)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if subject != nil {
		if err := s.putReferrerUnflushed(*subject, full); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	if err := s.clearTombstone(m.digest); err != nil {
		return ocispec.Descriptor{}, err
	}
	return listed(full), nil
}

// putBlobFlushed stores b, replacing what is there, flushed before it is
// renamed into place; the next commit flushes its directory.
func (s *Store) putBlobFlushed(desc ocispec.Descriptor, b []byte) error {
	path, err := s.blobPath(desc.Digest)
	if err != nil {
		return err
	}
	if err := s.mkdirDurable(filepath.Dir(path), 2); err != nil {
		return err
	}
	s.sync.forget(path)
	return writeAtomicFrom(s.fs, s.tmpDir, path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}, s.deferDir)
}

var errNotStored = errors.New("not stored intact")

// removeJournal notes that the pushes of the journal files listed (one
// entry per push) are listed in index.json: a file taken over from
// another writer is removed, a log of this store once none of its pushes
// is left unlisted (see releaseJournal). A removal lost in a crash only
// makes a later commit list the manifests again.
func (s *Store) removeJournal(files []string) {
	for _, f := range files {
		s.releaseJournal(f)
	}
}
