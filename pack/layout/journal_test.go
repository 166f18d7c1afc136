package layout

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pull"
)

// pathSyncFS counts the flushes of each path.
type pathSyncFS struct {
	osFS
	mu     sync.Mutex
	synced map[string]int
}

func (f *pathSyncFS) note(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.synced == nil {
		f.synced = map[string]int{}
	}
	f.synced[p]++
}
func (f *pathSyncFS) CreateTemp(dir, pattern string) (tempFile, error) {
	t, err := f.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &pathSyncFile{tempFile: t, fs: f}, nil
}

// pathSyncFile counts its flushes under its name.
type pathSyncFile struct {
	tempFile
	fs *pathSyncFS
}

func (f *pathSyncFile) Sync() error { f.fs.note(f.Name()); return f.tempFile.Sync() }

func (f *pathSyncFS) SyncDir(p string) error  { f.note(p); return f.osFS.SyncDir(p) }
func (f *pathSyncFS) SyncFile(p string) error { f.note(p); return f.osFS.SyncFile(p) }
func (f *pathSyncFS) count(p string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.synced[p]
}

// TestDeferIndexPush checks a push with SetDeferIndex: when it returns,
// the manifest, its blobs and its journal file are flushed and it
// verifies, before index.json lists it; Sync then lists it and removes
// the journal file. A record attached the same way is a referrer at once.
func TestDeferIndexPush(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	cfs := &pathSyncFS{}
	s, err := Open(ctx, dir, Options{Create: true, fs: cfs})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	c := composeRun(t, 1)
	res, err := pack.Push(ctx, s, c, pack.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Descriptor.Digest
	js := journalFiles(t, s, d)
	if len(js) != 1 {
		t.Fatalf("%d journal files for the pushed manifest, want 1", len(js))
	}
	for _, p := range []string{js[0], s.journalDir()} {
		if cfs.count(p) == 0 {
			t.Errorf("%s not flushed when the push returned", p)
		}
	}
	pushes, err := readJournalFile(js[0])
	if err != nil || len(pushes) != 1 {
		t.Fatalf("the journal holds %d pushes (%v), want 1", len(pushes), err)
	}
	ents := pushes[0]
	held := map[digest.Digest]bool{}
	for _, e := range ents {
		held[e.digest] = true
	}
	if ents[0].digest != d || !held[c.Identity.ConfigDescriptor().Digest] {
		t.Errorf("the journal holds %v, want the manifest %s first and the identity document", held, d)
	}
	if _, err := pull.Verify(ctx, s, d.String(), pull.VerifyOptions{}); err != nil {
		t.Fatalf("the pushed identity does not verify before its commit: %v", err)
	}
	out := t.TempDir()
	p := filepath.Join(out, "answer.txt")
	if err := os.WriteFile(p, []byte("answer"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := referrer.Attach(ctx, s, d.String(), []referrer.OutputFile{{Path: p}}, referrer.AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	refs, err := s.Predecessors(ctx, res.Descriptor)
	if err != nil || !containsDigest(refs, rec.Descriptor.Digest.String()) {
		t.Fatalf("the record %s is not a referrer of %s before its commit: %v %v", rec.Descriptor.Digest, d, refs, err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	listed := indexLists(t, s)
	for _, want := range []digest.Digest{d, rec.Descriptor.Digest} {
		if !listed[want] {
			t.Errorf("after Sync, index.json does not list %s", want)
		}
	}
	if ents, _ := os.ReadDir(s.journalDir()); len(ents) != 0 {
		t.Errorf("after Sync, %d journal files are left", len(ents))
	}
}

// TestJournalRecovery checks that a manifest reported by a writer that
// died before its commit (its journal file left behind) is listed in
// index.json by the next commit of another writer, and that a journal
// file naming a manifest that is not stored intact is dropped.
func TestJournalRecovery(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	// A writer that stops before its commit: the push returns, the commit
	// never runs (the committer is held as if it were busy).
	holdCommits(s, true)
	c := composeRun(t, 7)
	res, err := pack.Push(ctx, s, c, pack.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Descriptor.Digest
	// The writer's blobs were renamed into place unflushed: a crash of
	// the machine can leave them empty.
	cp, _ := s.blobPath(c.Identity.ConfigDescriptor().Digest)
	if err := os.Truncate(cp, 0); err != nil {
		t.Fatal(err)
	}
	mp, _ := s.blobPath(d)
	if err := os.Remove(mp); err != nil {
		t.Fatal(err)
	}
	// The writer dies: its journal log is left, unlocked.
	s.abandonJournal()
	js := journalFiles(t, s, d)
	if len(js) != 1 {
		t.Fatalf("%d journal files, want 1", len(js))
	}
	whole, err := os.ReadFile(js[0])
	if err != nil {
		t.Fatal(err)
	}
	// Journal files of pushes that never completed (cut short): a log,
	// and a file of the first format (one push per file).
	gl := filepath.Join(s.journalDir(), journalLogPrefix+"ghost")
	if err := os.WriteFile(gl, whole[:len(whole)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	ghost := digest.FromString("never stored")
	gp := filepath.Join(s.journalDir(), digestName(ghost)+".1")
	var v1 bytes.Buffer
	w := bufio.NewWriter(&v1)
	if err := writeJournalEntry(w, ghost, []byte("never stored")); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := os.WriteFile(gp, v1.Bytes()[:v1.Len()-3], 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * journalStale)
	for _, p := range []string{js[0], gp, gl} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	// Another writer commits something else.
	s2, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.Push(ctx, s2, composeRun(t, 8), pack.PushOptions{Tag: "other"}); err != nil {
		t.Fatal(err)
	}
	listed := indexLists(t, s2)
	if !listed[d] {
		t.Fatalf("the next commit did not list %s, named by a journal file", d)
	}
	for _, p := range []string{js[0], gp, gl} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("journal file %s left after the commit that handled it", p)
		}
	}
	if _, err := pull.Verify(ctx, s2, d.String(), pull.VerifyOptions{}); err != nil {
		t.Errorf("the recovered identity does not verify: %v", err)
	}
	rep, err := Check(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Healthy {
		t.Errorf("layout check after recovery: %+v", rep.Problems)
	}
}

// TestDeferIndexFreshJournalLeft checks that a commit leaves alone a
// journal file younger than journalStale that another writer wrote: that
// writer is alive and commits it itself.
func TestDeferIndexFreshJournalLeft(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	holdCommits(s, true)
	res, err := pack.Push(ctx, s, composeRun(t, 9), pack.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.Push(ctx, s2, composeRun(t, 10), pack.PushOptions{Tag: "other"}); err != nil {
		t.Fatal(err)
	}
	if len(journalFiles(t, s, res.Descriptor.Digest)) != 1 {
		t.Errorf("another writer's fresh journal file was taken")
	}
	// The first writer's committer runs again and lists it.
	holdCommits(s, false)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	listed := indexLists(t, s)
	if !listed[res.Descriptor.Digest] {
		t.Errorf("Sync did not list %s", res.Descriptor.Digest)
	}
}

// journalFiles lists the journal files of the manifest d.
func journalFiles(tb testing.TB, s *Store, d digest.Digest) []string {
	tb.Helper()
	ents, err := os.ReadDir(s.journalDir())
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		p := filepath.Join(s.journalDir(), e.Name())
		pushes, _ := readJournalFile(p)
		for _, push := range pushes {
			if push[0].digest == d {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// abandonJournal lets go of the store's journal logs as a writer killed
// at that moment would: the files stay, unlocked.
func (s *Store) abandonJournal() {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	for _, l := range s.jlogs {
		l.f.Close()
		l.lock.Unlock()
	}
	s.jlogs = nil
	s.jcur = nil
}

// TestRepairReplaysJournal checks that layout repair puts back, from a
// journal file, the blobs of a reported push that a crash cut off from
// the disk, lists the manifest and removes the journal file.
func TestRepairReplaysJournal(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	holdCommits(s, true)
	res, err := pack.Push(ctx, s, composeRun(t, 11), pack.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Descriptor.Digest
	mp, _ := s.blobPath(d)
	if err := os.Truncate(mp, 3); err != nil {
		t.Fatal(err)
	}
	s.abandonJournal() // the writer died
	if _, err := Repair(ctx, dir); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pull.Verify(ctx, s2, d.String(), pull.VerifyOptions{}); err != nil {
		t.Errorf("after repair, %s does not verify: %v", d, err)
	}
	listed := indexLists(t, s2)
	if !listed[d] {
		t.Errorf("after repair, index.json does not list %s", d)
	}
	if n := len(journalFiles(t, s2, d)); n != 0 {
		t.Errorf("after repair, %d journal files left", n)
	}
}

// indexFailFS fails every replacement of index.json while fail is set.
type indexFailFS struct {
	osFS
	fail atomic.Bool
}

func (f *indexFailFS) Rename(a, b string) error {
	if f.fail.Load() && filepath.Base(b) == indexFile {
		return &fs.PathError{Op: "rename", Path: b, Err: syscall.EIO}
	}
	return f.osFS.Rename(a, b)
}

// TestDeferIndexCommitFails checks that a deferred push whose background
// commit fails stays reported: Sync returns the commit's error, the
// journal file stays, and once the disk is back a commit lists it.
func TestDeferIndexCommitFails(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	ffs := &indexFailFS{}
	s, err := Open(ctx, dir, Options{Create: true, fs: ffs})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	ffs.fail.Store(true)
	res, err := pack.Push(ctx, s, composeRun(t, 12), pack.PushOptions{})
	if err != nil {
		t.Fatalf("the push failed with its commit: %v", err)
	}
	d := res.Descriptor.Digest
	if err := s.Sync(ctx); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync with index.json failing: %v, want EIO", err)
	}
	if n := len(journalFiles(t, s, d)); n != 1 {
		t.Fatalf("%d journal files after the failed commit, want 1", n)
	}
	ffs.fail.Store(false)
	start := time.Now()
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > deferRetry/2 {
		t.Errorf("Sync waited %v for the retry of the failed commit", took)
	}
	listed := indexLists(t, s)
	if !listed[d] {
		t.Errorf("after the disk came back, index.json does not list %s", d)
	}
	if n := len(journalFiles(t, s, d)); n != 0 {
		t.Errorf("%d journal files left", n)
	}
}

// indexBlockFS holds every replacement of index.json while block is set,
// until release is closed: a background commit that cannot keep up.
type indexBlockFS struct {
	osFS
	block   atomic.Bool
	release chan struct{}
}

func (f *indexBlockFS) Rename(a, b string) error {
	if f.block.Load() && filepath.Base(b) == indexFile {
		<-f.release
	}
	return f.osFS.Rename(a, b)
}

// TestDeferredBacklogBounded checks that deferred pushes do not queue
// without bound behind a commit that cannot keep up: past the limit a push
// waits for the commit, and once the commit goes through every push is
// reported and listed.
func TestDeferredBacklogBounded(t *testing.T) {
	ctx := t.Context()
	const limit, pushes = 4, 12
	bfs := &indexBlockFS{release: make(chan struct{})}
	s, err := Open(ctx, t.TempDir(), Options{Create: true, fs: bfs, maxDeferred: limit})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	bfs.block.Store(true)
	comps := make([]*pack.Composition, pushes)
	for i := range comps {
		comps[i] = composeRun(t, i)
	}
	var reported atomic.Int32
	errs := make(chan error, pushes)
	for _, c := range comps {
		go func() {
			_, err := pack.Push(ctx, s, c, pack.PushOptions{})
			reported.Add(1)
			errs <- err
		}()
	}
	// While index.json cannot be replaced, at most limit pushes queue
	// their listing and report; the others wait for the commit (one of
	// them may have been taken into the blocked commit's batch first).
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.commits.mu.Lock()
		queued := len(s.commits.pending)
		s.commits.mu.Unlock()
		if queued >= limit {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // room for pushes past the limit to report, if they did
	if n := reported.Load(); n > 2*limit {
		t.Errorf("%d of %d pushes reported while index.json was blocked; want at most %d", n, pushes, 2*limit)
	}
	if n := reported.Load(); n == pushes {
		t.Fatalf("every push reported while no commit could go through")
	}
	close(bfs.release)
	for range pushes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	listed := indexLists(t, s)
	for _, c := range comps {
		if !listed[c.Digest()] {
			t.Errorf("index.json does not list %s", c.Digest())
		}
	}
}

// holdCommits keeps the background commit from starting (held), as if one
// were running, or lets it start again.
func holdCommits(s *Store, held bool) {
	s.commits.mu.Lock()
	s.commits.running = held
	s.commits.mu.Unlock()
}
