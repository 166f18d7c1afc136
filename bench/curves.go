package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/runid/runid-oci/internal/clitools"
)

// curvesConfig is the part of the command line that asks for cost
// curves: how cost grows with the number of components of one identity,
// with the number of identities (and tags) already in a layout, and with
// the requests a proxy has served, for runid-oci and for oras where it
// does the same job.
type curvesConfig struct {
	full, quick bool
	out         string
	bound       time.Duration
	iterations  int
	requests    int
	only        string
	tags        string
}

// curvesFlags registers -curves and its companions on fs.
func curvesFlags(fs *flag.FlagSet) *curvesConfig {
	c := &curvesConfig{}
	fs.BoolVar(&c.full, "curves", false, "measure and draw the cost curves (into -curves-out) instead of the table")
	fs.BoolVar(&c.quick, "curves-quick", false, "-curves with small sizes, to check that it works (seconds to a few minutes)")
	fs.StringVar(&c.out, "curves-out", "", "directory the curves' SVG pictures go to (default: docs/ of this checkout with -curves, the working directory with -curves-quick)")
	fs.DurationVar(&c.bound, "curves-bound", 3*time.Minute, "a tool whose point takes longer than this is not measured at the larger sizes of that curve")
	fs.IntVar(&c.iterations, "curves-iterations", 1, "runs of each tool at each point of the component and tag curves (medians)")
	fs.IntVar(&c.requests, "curves-requests", 100_000, "requests the proxy serves in the proxy curve")
	fs.StringVar(&c.only, "curves-only", "", "comma-separated curves to measure: components, proxy, layout (default: all)")
	fs.StringVar(&c.tags, "curves-tags", "", "comma-separated tag counts of the tagged-push curve (default 10,1000,10000; a layout of 100,000 tags takes the better part of an hour to build the first time)")
	return c
}

func (c *curvesConfig) enabled() bool { return c.full || c.quick }

// curveSizes are the x values of each curve.
type curveSizes struct {
	components  []int // files in one identity
	identities  []int // identities already in a layout
	tags        []int // tags already in a layout
	checkpoints []int // requests served, where the proxy curve is read
	docSize     int   // bytes of each component
	clients     int   // proxy clients at once
}

func (c *curvesConfig) sizes() (curveSizes, error) {
	s := c.defaultSizes()
	if c.tags != "" {
		s.tags = nil
		for _, f := range strings.Split(c.tags, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return s, fmt.Errorf("-curves-tags: %q is not a positive number", f)
			}
			s.tags = append(s.tags, n)
		}
	}
	return s, nil
}

// wants reports whether the curves named name are to be measured.
func (c *curvesConfig) wants(name string) bool {
	if c.only == "" {
		return true
	}
	for _, f := range strings.Split(c.only, ",") {
		if strings.TrimSpace(f) == name {
			return true
		}
	}
	return false
}

func (c *curvesConfig) defaultSizes() curveSizes {
	if c.quick {
		return curveSizes{components: []int{1, 10}, identities: []int{10, 20}, tags: []int{10, 20}, checkpoints: []int{20, 40}, docSize: 256, clients: 4}
	}
	cp := []int{100, 1000, 10_000, 100_000}
	for len(cp) > 1 && cp[len(cp)-1] > c.requests {
		cp = cp[:len(cp)-1]
	}
	if cp[len(cp)-1] != c.requests {
		cp = append(cp, c.requests)
	}
	return curveSizes{
		components:  []int{1, 100, 1000, 10_000, 100_000},
		identities:  []int{10, 1000, 10_000, 100_000},
		tags:        []int{10, 1000, 10_000},
		checkpoints: cp,
		docSize:     256,
		clients:     16,
	}
}

// curveEnv is what the curves share: the tools, a runner that times
// processes, a registry and the working directory.
type curveEnv struct {
	cfg    *curvesConfig
	sizes  curveSizes
	root   string // this checkout
	work   string
	runid  string
	oras   string
	reg    *registry
	run    *runner
	logf   func(string, ...any)
	quick  bool
	nextID int
}

// runCurves measures every curve, draws them into the output directory
// and writes their tables to w.
func runCurves(ctx context.Context, root, work string, cfg *curvesConfig, w io.Writer) error {
	started := time.Now()
	load0 := loadavg()
	out := cfg.out
	if out == "" {
		out = filepath.Join(root, "docs")
		if cfg.quick {
			out = work
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	timeBin, _, err := ensureTools(ctx)
	if err != nil {
		return err
	}
	sizes, err := cfg.sizes()
	if err != nil {
		return err
	}
	e := &curveEnv{cfg: cfg, sizes: sizes, root: root, work: work, logf: logf, quick: cfg.quick}
	bin := filepath.Join(work, "bin")
	e.runid = filepath.Join(bin, "runid-oci")
	logf("building runid-oci from %s", root)
	build := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", e.runid, "./cmd/runid-oci")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	build.Env = staticBuild()
	if err := build.Run(); err != nil {
		return fmt.Errorf("build runid-oci: %w", err)
	}
	tools := map[clitools.Tool]string{}
	for _, t := range []clitools.Tool{clitools.ToolOras, clitools.ToolRegistry} {
		if tools[t], err = clitools.Build(ctx, t); err != nil {
			return err
		}
	}
	e.oras = tools[clitools.ToolOras]
	regDir, cleanup, err := registryDir("", work)
	if err != nil {
		return err
	}
	defer cleanup()
	if e.reg, err = startRegistry(ctx, tools[clitools.ToolRegistry], regDir); err != nil {
		return err
	}
	defer e.reg.stop()
	dockerConfig := filepath.Join(work, "docker")
	if err := os.MkdirAll(dockerConfig, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte("{}\n"), 0o644); err != nil {
		return err
	}
	e.run = &runner{env: append(os.Environ(), "DOCKER_CONFIG="+dockerConfig), timeBin: timeBin, tmp: work}

	var curves []*curve
	steps := []struct {
		name string
		fn   func(context.Context) ([]*curve, error)
	}{
		{"components", e.componentCurves},
		{"proxy", e.proxyCurves},
		{"layout", e.layoutCurves},
	}
	for _, s := range steps {
		if !cfg.wants(s.name) {
			continue
		}
		logf("curves: %s", s.name)
		cs, err := s.fn(ctx)
		if err != nil {
			return fmt.Errorf("%s curves: %w", s.name, err)
		}
		curves = append(curves, cs...)
	}
	fmt.Fprintf(w, "runid-oci cost curves, %s; %s; %s; oras %s, Distribution registry %s; load average %s at the start, %s at the end; %s in all.\n\n",
		started.UTC().Format("2006-01-02 15:04 MST"), machine(), runtime.Version(), clitools.ToolOras.Version(), clitools.ToolRegistry.Version(),
		load0, loadavg(), time.Since(started).Round(time.Second))
	var errs []error
	for _, c := range curves {
		c.table(w)
		if err := c.draw(out); err != nil {
			errs = append(errs, err)
		}
	}
	logf("curves drawn into %s", out)
	return errors.Join(errs...)
}

// timed runs the commands of one point of one tool iterations times and
// returns the median wall time and the peak RSS, or the reason it could
// not (the tool failed: its message, shortened).
func (e *curveEnv) timed(ctx context.Context, mk func(i int) command) (time.Duration, int64, string, error) {
	var ss []sample
	for i := range max(e.cfg.iterations, 1) {
		s, err := e.run.measure(ctx, mk(i))
		if ctx.Err() != nil {
			return 0, 0, "", ctx.Err()
		}
		if err != nil {
			return 0, 0, refusal(err), nil
		}
		ss = append(ss, s)
	}
	return median(ss), peakRSS(ss), "", nil
}

// refusal is the last line of a failed tool's message, for a table cell.
func refusal(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	msg := strings.TrimSpace(lines[len(lines)-1])
	msg = strings.ReplaceAll(msg, "|", "/")
	if len(msg) > 140 {
		msg = msg[:140] + "…"
	}
	return "failed: " + msg
}

// componentCurves: push and verify (and oras push and pull) of one
// identity of N components of docSize bytes each, to the registry.
func (e *curveEnv) componentCurves(ctx context.Context) ([]*curve, error) {
	push := &curve{file: "curves-components-push.svg", title: "Push one identity of N components to a registry",
		xLabel: "components", yLabel: "seconds, wall", logY: true}
	verify := &curve{file: "curves-components-verify.svg", title: "Verify (runid-oci) or pull (oras) one identity of N components",
		xLabel: "components", yLabel: "seconds, wall", logY: true}
	rss := &curve{file: "curves-components-rss.svg", title: "Peak memory of push and verify against components",
		xLabel: "components", yLabel: "MiB, peak RSS", logY: true}
	over := map[string]string{} // tool and job -> why larger sizes are not measured
	host := e.reg.host
	for _, n := range e.sizes.components {
		dir := filepath.Join(e.work, fmt.Sprintf("components-%d", n))
		e.logf("components: generating %d documents of %d bytes", n, e.sizes.docSize)
		w, err := genDocs(dir, n, e.sizes.docSize, uint64(n))
		if err != nil {
			return nil, err
		}
		x := float64(n)
		jobs := []struct {
			c    *curve
			name string
			mk   func(i int) command
		}{
			{push, "runid-oci push", func(i int) command {
				return command{argv: []string{e.runid, "push", "--plain-http", fmt.Sprintf("%s/curves/c%d-runid-%d:v1", host, n, i), w.declaration}, dir: w.dir}
			}},
			{push, "oras push", func(i int) command {
				return command{argv: append([]string{e.oras, "push", "--plain-http", fmt.Sprintf("%s/curves/c%d-oras-%d:v1", host, n, i)}, w.files...), dir: w.dir}
			}},
			{verify, "runid-oci verify", func(i int) command {
				return command{argv: []string{e.runid, "verify", "--plain-http", fmt.Sprintf("%s/curves/c%d-runid-0:v1", host, n)}}
			}},
			{verify, "oras pull", func(i int) command {
				out := filepath.Join(e.work, fmt.Sprintf("pulled-%d-%d", n, i))
				return command{argv: []string{e.oras, "pull", "--plain-http", fmt.Sprintf("%s/curves/c%d-oras-0:v1", host, n), "-o", out}}
			}},
		}
		for _, j := range jobs {
			if j.name == "oras pull" || j.name == "runid-oci verify" {
				// Nothing to read if its push failed.
				src := "oras push"
				if j.name == "runid-oci verify" {
					src = "runid-oci push"
				}
				if p := lastPoint(push, src); p.skip != "" {
					j.c.add(j.name, point{x: x, skip: "nothing pushed"})
					continue
				}
			}
			if why := over[j.name]; why != "" {
				j.c.add(j.name, point{x: x, skip: why})
				continue
			}
			if j.name == "oras push" && n > maxOrasComponents {
				// Measured refusal of the format: see maxOrasComponents.
				j.c.add(j.name, point{x: x, skip: fmt.Sprintf("not run: a manifest of %d layers is over the registry's 4 MiB limit", n)})
				continue
			}
			wall, peak, why, err := e.timed(ctx, j.mk)
			if err != nil {
				return nil, err
			}
			e.logf("components=%d %-17s %s %s", n, j.name, seconds(wall), orText(why, mib(peak)))
			if why != "" {
				j.c.add(j.name, point{x: x, skip: why})
				continue
			}
			j.c.add(j.name, point{x: x, y: wall.Seconds()})
			rss.add(j.name, point{x: x, y: float64(peak) / (1 << 20)})
			if wall > e.cfg.bound {
				over[j.name] = fmt.Sprintf("not run: %s took %s at %d", j.name, seconds(wall), n)
			}
		}
		_ = os.RemoveAll(dir)
		for i := range max(e.cfg.iterations, 1) {
			_ = os.RemoveAll(filepath.Join(e.work, fmt.Sprintf("pulled-%d-%d", n, i)))
		}
	}
	return []*curve{push, verify, rss}, nil
}

// maxOrasComponents: above this many files, oras push would upload every
// blob and then be refused its manifest: each layer descriptor takes
// about 250 bytes, and registries (Distribution among them) take
// manifests of at most 4 MiB, about 16,000 layers.
const maxOrasComponents = 16_000

func lastPoint(c *curve, name string) point {
	for _, s := range c.series {
		if s.name == name && len(s.points) > 0 {
			return s.points[len(s.points)-1]
		}
	}
	return point{skip: "none"}
}

func orText(why, s string) string {
	if why != "" {
		return why
	}
	return s
}
