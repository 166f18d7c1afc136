package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// layoutCurves: the cost of one identity's operations against the number
// of identities already in an OCI layout (pack/layout's BenchmarkStoreScale,
// in process, durable), and of a tagged push against the number of tags
// (its BenchmarkTaggedPush, then the runid-oci and oras CLIs pushing into
// copies of the same layouts).
func (e *curveEnv) layoutCurves(ctx context.Context) ([]*curve, error) {
	iters := 10
	if e.quick {
		iters = 1
	}
	res := map[string]map[string]float64{}
	for _, b := range []struct {
		name  string
		sizes []int
	}{{"BenchmarkStoreScale", e.sizes.identities}, {"BenchmarkTaggedPush", e.sizes.tags}} {
		sizes := make([]string, len(b.sizes))
		for i, n := range b.sizes {
			sizes[i] = strconv.Itoa(n)
		}
		e.logf("layout: %d iterations of %s at %s (layouts not yet in the user's cache directory are built first: the better part of an hour for 100,000)",
			iters, b.name, strings.Join(sizes, ", "))
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^"+b.name+"$",
			"-benchtime", strconv.Itoa(iters)+"x", "-count", "1", "-timeout", "120m", "./pack/layout", "-args", "-sizes", strings.Join(sizes, ","))
		cmd.Dir = e.root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, os.Stderr), os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go test -bench %s: %w", b.name, err)
		}
		for k, v := range parseBenchResults(out.String()) {
			res[k] = v
		}
	}

	ops := &curve{file: "curves-layout.svg", title: "One identity's operations in a layout of N identities (library, durable)",
		xLabel: "identities in the layout", yLabel: "ms per operation"}
	for _, n := range e.sizes.identities {
		m := res["BenchmarkStoreScale/identities="+strconv.Itoa(n)]
		for _, op := range []string{"open", "push", "attach", "resolve", "verify", "discover"} {
			v, ok := m[op+"-ms"]
			if !ok {
				ops.add(op, point{x: float64(n), skip: "no result"})
				continue
			}
			ops.add(op, point{x: float64(n), y: v})
		}
	}

	tags := &curve{file: "curves-tags.svg", title: "Push one tagged identity into a layout of N tags",
		xLabel: "tags in the layout", yLabel: "ms, wall", logY: true}
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, err
	}
	for _, n := range e.sizes.tags {
		m := res["BenchmarkTaggedPush/tags="+strconv.Itoa(n)]
		if v, ok := m["ns/op"]; ok {
			tags.add("runid-oci, library (open and push)", point{x: float64(n), y: v / 1e6})
			e.logf("tags=%d: library tagged push %.1f ms, index.json %.0f KiB", n, v/1e6, m["index-KiB"])
		} else {
			tags.add("runid-oci, library (open and push)", point{x: float64(n), skip: "no result"})
		}
		src := filepath.Join(cache, "runid-oci-bench", fmt.Sprintf("store-tagged-%d", n))
		if err := e.tagCLIPoints(ctx, tags, src, n); err != nil {
			return nil, err
		}
	}
	ops.notes = append(ops.notes, flatNote(ops, e.sizes.identities, []string{"open", "push", "attach", "resolve", "verify", "discover"}))
	tags.notes = append(tags.notes, flatNote(tags, e.sizes.tags, []string{"runid-oci, library (open and push)"}))
	return []*curve{ops, tags}, nil
}

// layoutFlatTarget is the store's promise: an operation at the largest
// size costs at most this many times what it costs at the smallest.
const layoutFlatTarget = 1.5

// flatNote states each named series' growth across sizes against
// layoutFlatTarget.
func flatNote(c *curve, sizes []int, names []string) string {
	f := c.flatness()
	var parts []string
	for _, n := range names {
		r, ok := f[n]
		if !ok {
			parts = append(parts, n+" not measured")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2fx (%s)", n, r, yesNo(r <= layoutFlatTarget)))
	}
	return fmt.Sprintf("Target: at %d, at most %.1fx the cost at %d. Measured: %s.", sizes[len(sizes)-1], layoutFlatTarget, sizes[0], strings.Join(parts, ", "))
}

// tagCLIPoints times `runid-oci push --oci-layout DIR:tag` and `oras push
// --oci-layout DIR:tag` of one small new identity into copies of the
// layout src of n tags: for runid-oci, the layout with its .runid
// sidecar; for oras, the same blobs with an index.json that lists the
// tags only, as oras writes it. The copies share src's files through
// hard links (neither tool changes a file in place) and are removed after.
func (e *curveEnv) tagCLIPoints(ctx context.Context, c *curve, src string, n int) error {
	x := float64(n)
	if _, err := os.Stat(filepath.Join(src, "index.json")); err != nil {
		c.add("runid-oci push --oci-layout", point{x: x, skip: "no layout"})
		c.add("oras push --oci-layout", point{x: x, skip: "no layout"})
		return nil
	}
	base := filepath.Join(filepath.Dir(src), fmt.Sprintf("curves-copy-%d-%d", n, os.Getpid()))
	defer os.RemoveAll(base)
	ours, theirs := filepath.Join(base, "runid"), filepath.Join(base, "oras")
	t0 := time.Now()
	if err := linkLayout(src, ours, true); err != nil {
		return err
	}
	if err := linkLayout(src, theirs, false); err != nil {
		return err
	}
	e.logf("tags=%d: copied the layout twice in %s", n, time.Since(t0).Round(time.Millisecond))
	for _, tool := range []string{"runid-oci push --oci-layout", "oras push --oci-layout"} {
		wall, _, why, err := e.timed(ctx, func(i int) command {
			e.nextID++
			w, gerr := genDocs(filepath.Join(base, fmt.Sprintf("run-%d", e.nextID)), 1, 64, uint64(time.Now().UnixNano()))
			if gerr != nil {
				return command{argv: []string{"false"}}
			}
			tag := fmt.Sprintf("curve-%d", e.nextID)
			if strings.HasPrefix(tool, "oras") {
				return command{argv: append([]string{e.oras, "push", "--oci-layout", theirs + ":" + tag}, w.files...), dir: w.dir}
			}
			return command{argv: []string{e.runid, "push", "--oci-layout", ours + ":" + tag, w.declaration}, dir: w.dir}
		})
		if err != nil {
			return err
		}
		e.logf("tags=%d %-28s %s", n, tool, orText(why, seconds(wall)))
		if why != "" {
			c.add(tool, point{x: x, skip: why})
			continue
		}
		c.add(tool, point{x: x, y: float64(wall) / float64(time.Millisecond)})
	}
	return nil
}

// linkLayout makes dst a copy of the OCI layout src whose files are hard
// links to src's: with sidecar, everything (index.json and the state
// copied, with the same modification time, so that runid-oci sees its own
// index); without, the blobs and an index.json of the tagged entries only.
func linkLayout(src, dst string, sidecar bool) error {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return os.MkdirAll(dst, 0o755)
		}
		top := strings.SplitN(rel, string(filepath.Separator), 2)[0]
		if top != "blobs" && (!sidecar || top != ".runid") {
			return nil
		}
		if rel == filepath.Join(".runid", "tmp") || rel == filepath.Join(".runid", "lock") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == filepath.Join(".runid", "state.json") {
			return nil
		}
		return os.Link(p, filepath.Join(dst, rel))
	})
	if err != nil {
		return err
	}
	if err := copyFile(filepath.Join(src, "oci-layout"), filepath.Join(dst, "oci-layout")); err != nil {
		return err
	}
	if sidecar {
		if err := copyFile(filepath.Join(src, "index.json"), filepath.Join(dst, "index.json")); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, ".runid", "tmp"), 0o755); err != nil {
			return err
		}
		return copyFile(filepath.Join(src, ".runid", "state.json"), filepath.Join(dst, ".runid", "state.json"))
	}
	b, err := os.ReadFile(filepath.Join(src, "index.json"))
	if err != nil {
		return err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(src, "index.json"), err)
	}
	kept := idx.Manifests[:0]
	for _, m := range idx.Manifests {
		if m.Annotations[ocispec.AnnotationRefName] != "" {
			kept = append(kept, m)
		}
	}
	idx.Manifests = kept
	if b, err = json.Marshal(idx); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "index.json"), b, 0o644)
}

// copyFile copies a small file, keeping its modification time.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

// parseBenchResults reads go test benchmark result lines into metric
// values by benchmark name (the -GOMAXPROCS suffix dropped); ns/op
// included. With -count above 1 the last run wins.
func parseBenchResults(out string) map[string]map[string]float64 {
	res := map[string]map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		res[name] = m
	}
	return res
}
