package layout

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pull"
)

// benchSizes replaces the layout sizes BenchmarkStoreScale and
// BenchmarkTaggedPush measure: -sizes 10,1000,10000,100000 (go run ./bench
// -curves draws them).
var benchSizes = flag.String("sizes", "", "comma-separated layout sizes for BenchmarkStoreScale and BenchmarkTaggedPush (default: each one's own)")

// sizesOr returns the sizes -sizes names, or def.
func sizesOr(b *testing.B, def ...int) []int {
	if *benchSizes == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(*benchSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("-sizes: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out
}

// bulkTarget writes blobs straight into a layout's blobs directory, with
// no flush and no index: it builds big layouts for benchmarks, which
// Repair then indexes.
type bulkTarget struct{ root string }

func (t bulkTarget) path(d digest.Digest) string {
	return filepath.Join(t.root, "blobs", d.Algorithm().String(), d.Encoded())
}

func (t bulkTarget) Fetch(_ context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	return os.Open(t.path(d.Digest))
}

func (t bulkTarget) Exists(_ context.Context, d ocispec.Descriptor) (bool, error) {
	_, err := os.Stat(t.path(d.Digest))
	return err == nil, nil
}

func (t bulkTarget) Push(_ context.Context, d ocispec.Descriptor, r io.Reader) error {
	b, err := content.ReadAll(r, d)
	if err != nil {
		return err
	}
	return os.WriteFile(t.path(d.Digest), b, 0o644)
}

func (t bulkTarget) Resolve(context.Context, string) (ocispec.Descriptor, error) {
	return ocispec.Descriptor{}, errdef.ErrNotFound
}

func (t bulkTarget) Tag(context.Context, ocispec.Descriptor, string) error { return nil }

// benchLayout returns a layout holding n identities, built once and kept
// in the user's cache directory (runid-oci-bench/store-N).
func benchLayout(b *testing.B, n int) string {
	b.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(cache, "runid-oci-bench", fmt.Sprintf("store-%d", n))
	if _, err := os.Stat(filepath.Join(dir, ".runid", "state.json")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	b.Logf("building a layout of %d identities in %s", n, dir)
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	t := bulkTarget{root: dir}
	for i := range n {
		c, err := newRun(i).Compose(context.Background(), pack.BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pack.Push(context.Background(), t, c, pack.PushOptions{}); err != nil && !errors.Is(err, fs.ErrExist) {
			b.Fatal(err)
		}
	}
	if _, err := Repair(context.Background(), dir); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkStoreScale opens a layout holding 10, 10,000 or 100,000
// identities (or the -sizes given) and, in it, pushes one new identity
// (untagged, as the proxy does), attaches an output record, resolves,
// verifies and discovers it:
// the cost of one run's whole life in the store, durable.
func BenchmarkStoreScale(b *testing.B) {
	for _, n := range sizesOr(b, 10, 10_000, 100_000) {
		b.Run(fmt.Sprintf("identities=%d", n), func(b *testing.B) {
			dir := benchLayout(b, n)
			out := filepath.Join(b.TempDir(), "answer.txt")
			os.WriteFile(out, []byte("answer"), 0o644)
			ctx := context.Background()
			// New identities on every run: pushing one again costs nothing.
			base := int(time.Now().UnixNano() % 1e15)
			var open, push, attach, resolve, verify, discover time.Duration
			lap := func(d *time.Duration, t0 time.Time) time.Time {
				now := time.Now()
				*d += now.Sub(t0)
				return now
			}
			n := 0
			for i := 0; b.Loop(); i++ {
				n++
				c, err := newRun(base+i).Compose(ctx, pack.BuildOptions{})
				if err != nil {
					b.Fatal(err)
				}
				t := time.Now()
				s, err := Open(ctx, dir, Options{})
				if err != nil {
					b.Fatal(err)
				}
				t = lap(&open, t)
				res, err := pack.Push(ctx, s, c, pack.PushOptions{})
				if err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
					b.Fatal(err)
				}
				t = lap(&push, t)
				id := res.Descriptor.Digest.String()
				if _, err := referrer.Attach(ctx, s, id, []referrer.OutputFile{{Path: out}}, referrer.AttachOptions{}); err != nil {
					b.Fatal(err)
				}
				t = lap(&attach, t)
				if _, err := s.Resolve(ctx, id); err != nil {
					b.Fatal(err)
				}
				t = lap(&resolve, t)
				if _, err := pull.Verify(ctx, s, id, pull.VerifyOptions{}); err != nil {
					b.Fatal(err)
				}
				t = lap(&verify, t)
				tree, err := pull.Discover(ctx, s, id, pull.DiscoverOptions{})
				if err != nil || len(tree.Referrers) == 0 {
					b.Fatalf("discover: %v", err)
				}
				lap(&discover, t)
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
			b.ReportMetric(ms(open), "open-ms")
			b.ReportMetric(ms(push), "push-ms")
			b.ReportMetric(ms(attach), "attach-ms")
			b.ReportMetric(ms(resolve), "resolve-ms")
			b.ReportMetric(ms(verify), "verify-ms")
			b.ReportMetric(ms(discover), "discover-ms")
		})
	}
}

// benchTaggedLayout returns a layout holding n tagged identities (tags
// run-0 … run-N-1), built once into the user's cache directory.
func benchTaggedLayout(b *testing.B, n int) string {
	b.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(cache, "runid-oci-bench", fmt.Sprintf("store-tagged-%d", n))
	if _, err := os.Stat(filepath.Join(dir, ".runid", "state.json")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	b.Logf("building a layout of %d tagged identities in %s", n, dir)
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	t := bulkTarget{root: dir}
	idx := emptyIndex()
	for i := range n {
		c, err := newRun(i).Compose(context.Background(), pack.BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := pack.Push(context.Background(), t, c, pack.PushOptions{})
		if err != nil {
			b.Fatal(err)
		}
		d := plainDesc(res.Descriptor)
		d.Annotations = map[string]string{ocispec.AnnotationRefName: fmt.Sprintf("run-%d", i)}
		idx.Manifests = append(idx.Manifests, d)
	}
	s := &Store{root: dir, fs: osFS{}, sidecar: filepath.Join(dir, sidecarDir)}
	s.tmpDir = filepath.Join(s.sidecar, "tmp")
	os.MkdirAll(s.tmpDir, 0o755)
	if err := s.writeIndex(idx); err != nil {
		b.Fatal(err)
	}
	if _, err := Repair(context.Background(), dir); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkTaggedPush pushes one tagged identity into a layout holding 10
// or 10,000 tagged identities (or the -sizes given): index.json lists
// every tag and is replaced whole, once per tagged push, so this cost
// grows with the number of tags (reads do not: tags resolve from
// .runid/tags). See docs/store.md.
func BenchmarkTaggedPush(b *testing.B) {
	for _, n := range sizesOr(b, 10, 10_000) {
		b.Run(fmt.Sprintf("tags=%d", n), func(b *testing.B) {
			dir := benchTaggedLayout(b, n)
			ctx := context.Background()
			base := int(time.Now().UnixNano() % 1e15)
			var resolve time.Duration
			// One push and untag first, outside the measure: the first
			// commit rewrites an index.json written in another form.
			if err := taggedPushOnce(ctx, dir, base-1); err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				c, err := newRun(base+i).Compose(ctx, pack.BuildOptions{})
				if err != nil {
					b.Fatal(err)
				}
				s, err := Open(ctx, dir, Options{})
				if err != nil {
					b.Fatal(err)
				}
				tag := fmt.Sprintf("bench-%d", base+i)
				if _, err := pack.Push(ctx, s, c, pack.PushOptions{Tag: tag}); err != nil {
					b.Fatal(err)
				}
				t := time.Now()
				if _, err := s.Resolve(ctx, "run-1"); err != nil {
					b.Fatal(err)
				}
				resolve += time.Since(t)
				// Keep the layout at n tags for the next iteration and run.
				b.StopTimer()
				if err := s.untagForBench(ctx, tag); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			fi, _ := os.Stat(filepath.Join(dir, "index.json"))
			b.ReportMetric(float64(fi.Size())/1024, "index-KiB")
			b.ReportMetric(float64(resolve.Microseconds())/float64(b.N), "resolve-us")
		})
	}
}

// taggedPushOnce pushes identity n under a tag and removes the tag.
func taggedPushOnce(ctx context.Context, dir string, n int) error {
	c, err := newRun(n).Compose(ctx, pack.BuildOptions{})
	if err != nil {
		return err
	}
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		return err
	}
	tag := fmt.Sprintf("bench-%d", n)
	if _, err := pack.Push(ctx, s, c, pack.PushOptions{Tag: tag}); err != nil {
		return err
	}
	return s.untagForBench(ctx, tag)
}

// untagForBench removes a tag from index.json and the sidecar.
func (s *Store) untagForBench(ctx context.Context, tag string) error {
	unlock, err := s.lockLayout(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	idx, _, err := s.readIndex()
	if err != nil {
		return err
	}
	out := idx.Manifests[:0]
	for _, e := range idx.Manifests {
		if e.Annotations[ocispec.AnnotationRefName] != tag {
			out = append(out, e)
		}
	}
	idx.Manifests = out
	if err := s.writeIndex(idx); err != nil {
		return err
	}
	if err := s.removeTag(tag); err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(s.root, indexFile))
	if err != nil {
		return err
	}
	return s.writeState(stateOf(fi, ""))
}
