package layout

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"
)

var (
	fsyncDelay  = flag.Duration("fsync-delay", 4*time.Millisecond, "what BenchmarkPushLatency's file system adds to every flush")
	pushWriters = flag.Int("push-writers", 16, "BenchmarkPushLatency's writers pushing at once")
)

// slowFS is the real file system on which every flush (of a file or a
// directory) takes delay more: a disk where an fsync costs milliseconds,
// without the noise of a real one.
type slowFS struct {
	osFS
	delay time.Duration
	syncs atomic.Int64
}

func (f *slowFS) wait() { f.syncs.Add(1); time.Sleep(f.delay) }

func (f *slowFS) CreateTemp(dir, pattern string) (tempFile, error) {
	t, err := f.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &slowFile{tempFile: t, fs: f}, nil
}
func (f *slowFS) SyncDir(p string) error  { f.wait(); return f.osFS.SyncDir(p) }
func (f *slowFS) SyncFile(p string) error { f.wait(); return f.osFS.SyncFile(p) }

type slowFile struct {
	tempFile
	fs *slowFS
}

func (f *slowFile) Sync() error { f.fs.wait(); return f.tempFile.Sync() }

// BenchmarkPushLatency measures how long a durable push of one small
// identity takes (three small blobs pushed at once, then the manifest
// that lists them, as pack.Push does) while 16 writers (-push-writers)
// push back to back into one layout, on a file system where every flush
// costs -fsync-delay (default 4 ms) and nothing else is slow (tmpfs when
// /dev/shm exists). The latency is then the number of flush rounds a
// push waits for: its own, and the commits of others it queues behind.
// With 16 writers on two cores the CPU saturates and queueing for it
// dominates; -push-writers 4 shows the flush rounds.
//
// The index=deferred rows push with SetDeferIndex, as the recording
// proxy does: a push waits for one flush of the journal log (shared with
// the pushes appended meanwhile), and index.json is committed in the
// background.
//
//	go test -run '^$' -bench PushLatency -benchtime 300x ./pack/layout -args -push-writers 4
func BenchmarkPushLatency(b *testing.B) {
	b.Run("index=commit", func(b *testing.B) { benchPushLatency(b, false) })
	b.Run("index=deferred", func(b *testing.B) { benchPushLatency(b, true) })
}

func benchPushLatency(b *testing.B, deferIndex bool) {
	parent := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		parent = "/dev/shm"
	}
	dir, err := os.MkdirTemp(parent, "runid-push-latency-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sfs := &slowFS{delay: *fsyncDelay}
	s, err := Open(context.Background(), dir, Options{Create: true, fs: sfs})
	if err != nil {
		b.Fatal(err)
	}
	s.SetDeferIndex(deferIndex)
	push := func(ctx context.Context, n int) error {
		var layers []ocispec.Descriptor
		g, gctx := errgroup.WithContext(ctx)
		for i := range 3 {
			blob := bytes.Repeat(fmt.Appendf(nil, "component %d of identity %d. ", i, n), 100)
			d := content.NewDescriptorFromBytes("text/plain", blob)
			layers = append(layers, d)
			g.Go(func() error { return s.Push(gctx, d, bytes.NewReader(blob)) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
		m := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[%s,%s]}`,
			ocispec.MediaTypeImageManifest, descJSON(layers[0]), descJSON(layers[1]), descJSON(layers[2]))
		return s.Push(ctx, content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, m), bytes.NewReader(m))
	}
	writers := *pushWriters
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	syncs0 := sfs.syncs.Load()
	for range writers {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= b.N {
					return
				}
				start := time.Now()
				if err := push(context.Background(), k); err != nil {
					b.Error(err)
					return
				}
				lat[k] = time.Since(start)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := s.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "push-p50-ms")
	b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "push-p99-ms")
	b.ReportMetric(float64(sfs.syncs.Load()-syncs0)/float64(b.N), "flushes/push")
	b.ReportMetric(float64(*fsyncDelay)/float64(time.Millisecond), "flush-ms")
}
