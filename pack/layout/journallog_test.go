package layout

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

// TestJournalLogManyPushes checks a journal log holding several pushes,
// left by a writer that died before its commit with its last record cut
// short (a crash of the machine during the append): the next writer's
// commit puts back the blobs the crash lost, lists every push that was
// whole, drops the cut one, and removes the log; every listed identity
// verifies.
func TestJournalLogManyPushes(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	holdCommits(s, true) // the commit never runs
	var pushed []digest.Digest
	for i := range 4 {
		res, err := pack.Push(ctx, s, composeRun(t, 20+i), pack.PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, res.Descriptor.Digest)
	}
	js := journalFiles(t, s, pushed[0])
	if len(js) != 1 {
		t.Fatalf("%d journal files hold the first push, want 1", len(js))
	}
	for _, d := range pushed[1:] {
		if got := journalFiles(t, s, d); len(got) != 1 || got[0] != js[0] {
			t.Fatalf("push %s is in %v, want the one log %s", d, got, js[0])
		}
	}
	s.abandonJournal()
	// The last record loses its end; the first push's manifest and the
	// second's identity document are lost from the disk.
	fi, err := os.Stat(js[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(js[0], fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	mp, _ := s.blobPath(pushed[0])
	if err := os.Remove(mp); err != nil {
		t.Fatal(err)
	}
	cp, _ := s.blobPath(composeRun(t, 21).Identity.ConfigDescriptor().Digest)
	if err := os.Truncate(cp, 0); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.Push(ctx, s2, composeRun(t, 30), pack.PushOptions{Tag: "next"}); err != nil {
		t.Fatal(err)
	}
	listed := indexLists(t, s2)
	for _, d := range pushed[:3] {
		if !listed[d] {
			t.Errorf("the next commit did not list %s, whole in the journal log", d)
		}
		if _, err := pull.Verify(ctx, s2, d.String(), pull.VerifyOptions{}); err != nil {
			t.Errorf("recovered identity %s does not verify: %v", d, err)
		}
	}
	if listed[pushed[3]] {
		t.Errorf("the next commit listed %s, whose record was cut short", pushed[3])
	}
	if _, err := os.Stat(js[0]); err == nil {
		t.Errorf("journal log %s left after the commit that took it over", js[0])
	}
	rep, err := Check(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Healthy {
		t.Errorf("layout check after recovery: %+v", rep.Problems)
	}
}

// slowSyncFS makes every flush of a file take delay, as a busy disk does,
// and counts the flushes of each path (pathSyncFS).
type slowSyncFS struct {
	pathSyncFS
	delay time.Duration
	// holdWrites, when set, makes a flush of a journal log wait, at most
	// 10 s, until that many writes to it were made: the flushes of
	// concurrent pushes then overlap their appends whatever the scheduler
	// does.
	holdWrites int

	wmu    sync.Mutex
	writes map[string]int
}

func (f *slowSyncFS) CreateTemp(dir, pattern string) (tempFile, error) {
	t, err := f.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &slowSyncFile{tempFile: t, fs: f}, nil
}

func (f *slowSyncFS) wrote(name string) int {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	return f.writes[name]
}

type slowSyncFile struct {
	tempFile
	fs *slowSyncFS
}

func (f *slowSyncFile) Write(p []byte) (int, error) {
	f.fs.wmu.Lock()
	if f.fs.writes == nil {
		f.fs.writes = map[string]int{}
	}
	f.fs.writes[f.Name()]++
	f.fs.wmu.Unlock()
	return f.tempFile.Write(p)
}

func (f *slowSyncFile) Sync() error {
	f.fs.note(f.Name())
	for end := time.Now().Add(10 * time.Second); isJournalLog(filepath.Base(f.Name())) && f.fs.wrote(f.Name()) < f.fs.holdWrites && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(f.fs.delay)
	return f.tempFile.Sync()
}

// TestJournalLogGroupFlush checks that concurrent deferred pushes share
// the flushes of the journal log: 16 pushes at once into a layout where a
// flush takes 20 ms, and does not end before all 16 are appended, need far
// fewer than 16 flushes of the log, and each push, when it returns, is in
// the log and verifies.
func TestJournalLogGroupFlush(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	const n = 16
	sfs := &slowSyncFS{delay: 20 * time.Millisecond, holdWrites: n}
	s, err := Open(ctx, dir, Options{Create: true, fs: sfs})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeferIndex(true)
	holdCommits(s, true) // only the journal's flushes are counted
	runs := make([]*pack.Composition, n)
	for i := range runs {
		runs[i] = composeRun(t, 40+i)
	}
	var wg sync.WaitGroup
	got := make([]digest.Digest, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			res, err := pack.Push(ctx, s, runs[i], pack.PushOptions{})
			errs[i] = err
			if err == nil {
				got[i] = res.Descriptor.Digest
			}
		})
	}
	wg.Wait()
	var logs []string
	for i, err := range errs {
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		js := journalFiles(t, s, got[i])
		if len(js) != 1 {
			t.Fatalf("push %d in %d journal files, want 1", i, len(js))
		}
		logs = append(logs, js[0])
		if _, err := pull.Verify(ctx, s, got[i].String(), pull.VerifyOptions{}); err != nil {
			t.Errorf("push %d does not verify: %v", i, err)
		}
	}
	flushes := sfs.count(logs[0])
	t.Logf("%d pushes, %d flushes of the journal log", n, flushes)
	if flushes == 0 || flushes > n/2 {
		t.Errorf("%d flushes of the journal log for %d concurrent pushes, want at least 1 and at most %d", flushes, n, n/2)
	}
	holdCommits(s, false)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(s.journalDir()); len(ents) != 0 {
		t.Errorf("after Sync, %d journal files are left", len(ents))
	}
}
