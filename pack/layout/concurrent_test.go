package layout

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// TestConcurrentWriterProcesses runs 20, then 50 writer processes of every
// kind (push, attach, sign) into one layout at once: every one must
// succeed and everything each reported must be there afterwards.
func TestConcurrentWriterProcesses(t *testing.T) {
	for _, n := range []int{20, 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "layout")
			seed(t, dir, n)
			kinds := []string{"push", "attach", "sign"}
			var mu sync.Mutex
			var all []report
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					kind := kinds[i%len(kinds)]
					from := i
					count := 2
					if kind == "sign" {
						count = 1 // one signature per subject: sign is read-modify-write of a tag
					}
					if kind == "push" {
						from = 10 * i
					}
					cmd := writerCmd(t.Context(), dir, kind, from, count)
					var stdout, stderr bytes.Buffer
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					if err := cmd.Run(); err != nil {
						t.Errorf("writer %d (%s) failed: %v\n%s", i, kind, err, stderr.String())
					}
					mu.Lock()
					all = append(all, parseReports(stdout.String())...)
					mu.Unlock()
				})
			}
			wg.Wait()
			want := 0
			for i := range n {
				if kinds[i%3] == "sign" {
					want++
				} else {
					want += 2
				}
			}
			if len(all) != want {
				t.Errorf("%d writes reported, want %d", len(all), want)
			}
			checkReports(t, dir, all)
		})
	}
}

// TestKilledWriters kills writer processes at random points, a few
// hundred times (bounded in time): after each kill, every write reported
// before verifies, the layout opens, and a later writer removes what the
// killed ones left in the temporary directory.
func TestKilledWriters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	seed(t, dir, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	deadline := time.Now().Add(60 * time.Second)
	var reported []report
	iterations, killedMidWrite := 0, 0
	for i := 0; i < 300 && time.Now().Before(deadline); i++ {
		iterations++
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w, kind := range []string{"push", "attach", "record"} {
			cmd := writerCmd(context.Background(), dir, kind, 1000*i+100*w, 50)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			delay := time.Duration(50+rng.IntN(700)) * time.Millisecond
			wg.Go(func() {
				time.Sleep(delay)
				cmd.Process.Signal(syscall.SIGKILL)
				err := cmd.Wait()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					killedMidWrite++
				}
				reported = append(reported, parseReports(stdout.String())...)
			})
		}
		wg.Wait()
		if i%25 == 24 {
			checkReports(t, dir, reported)
			if t.Failed() {
				t.Fatalf("after %d iterations", iterations)
			}
		}
	}
	checkReports(t, dir, reported)
	t.Logf("%d iterations, %d writers killed, %d writes reported and verified", iterations, killedMidWrite, len(reported))

	// A writer removes the temporary files the killed writers left.
	time.Sleep(tempGrace)
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := write(t.Context(), s, "push", -1); err != nil {
		t.Fatal(err)
	}
	for _, lo := range leftovers(dir, s.tmpDir, DefaultStaleAge, time.Now()) {
		t.Errorf("left over after a writer cleaned: %s (live %v)", lo.Path, lo.Live)
	}
	if ents, _ := os.ReadDir(s.tmpDir); len(ents) != 0 {
		t.Errorf("%d files in %s", len(ents), s.tmpDir)
	}

	// The killed writers' journal files, once stale, are listed by the
	// next commit: every identity a killed writer reported is in
	// index.json, and no journal file is left.
	ents, _ := os.ReadDir(s.journalDir())
	old := time.Now().Add(-2 * journalStale)
	for _, e := range ents {
		os.Chtimes(filepath.Join(s.journalDir(), e.Name()), old, old)
	}
	if _, err := write(t.Context(), s, "push", -2); err != nil {
		t.Fatal(err)
	}
	idx, _, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	listed := reachable(t, s, idx)
	declared := 0
	for _, r := range reported {
		if r.kind == "declared" || r.kind == "attach" {
			declared++
			if !listed[digest.Digest(r.b)] {
				t.Errorf("reported %s %s is not listed in index.json after the next commit", r.kind, r.b)
			}
		}
	}
	if ents, _ := os.ReadDir(s.journalDir()); len(ents) != 0 {
		t.Errorf("%d journal files left after the next commit", len(ents))
	}
	t.Logf("%d journal files of killed writers recovered; %d reported identities and records listed", len(ents), declared)
}
