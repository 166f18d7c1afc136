// Command bench measures runid-oci against the generic tools a user would
// otherwise reach for (oras push and pull, openssl), on large and
// many-document workloads, and prints a Markdown table of medians and
// ratios from the same run; then the recording proxy's overhead, from runs
// of pack/capture/proxy's
// BenchmarkProxyOverhead:
//
//	go run ./bench                                          # the target sizes, 3 iterations
//	go run ./bench -size 128MiB -docs 1000 -iterations 1    # a quick run
//	go run ./bench -proxy-only                              # the proxy only
//	go run ./bench -store-only                              # the OCI layout store only
//	go run ./bench -report-only                             # the HTML report in Chromium only
//	go run ./bench -rows pull,documents -proxy-runs 0 -store-runs 0 -report-runs 0  # some rows only
//	go run ./bench -curves                                  # cost curves into docs/ (docs/curves.md)
//
// It builds runid-oci from this checkout and the pinned oras CLI and CNCF
// Distribution registry (internal/clitools, through the Go module proxy,
// into the shared tool cache), installs openssl with apt-get if it is
// missing, starts the registry as its own process on loopback with a
// filesystem store in a temporary directory, generates the workloads from a
// fixed seed (random bytes, so neither side can compress), and runs the two
// tools of each row alternately, each push into a fresh repository. Every
// run is a separate process, timed by wall clock, with its peak resident
// memory taken from its rusage (ru_maxrss).
//
// Progress goes to stderr; the table to stdout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/runid/runid-oci/internal/clitools"
	"github.com/runid/runid-oci/internal/fsprobe"
)

// config is the command line.
type config struct {
	iterations  int
	size        int64
	files       int
	docs        int
	docSize     int64
	textSize    int64
	seed        uint64
	workdir     string
	keep        bool
	registryDir string
	proxyRuns   int
	proxyDir    string
	proxyOnly   bool
	proxySettle time.Duration
	storeRuns   int
	storeOnly   bool
	reportRuns  int
	reportOnly  bool
	curves      *curvesConfig
	rows        string
}

// memTarget is the cap on runid-oci's peak resident memory that the
// benchmark checks (docs/benchmarks.md).
const memTarget = 64 << 20

// pullTarget is the largest acceptable ratio of each pull and verify run
// to the `oras pull` run paired with it.
const pullTarget = 0.9

// floorTarget is the largest acceptable ratio of runid-oci's wall time for
// the small-document push to the registry's floor.
const floorTarget = 1.15

func main() {
	var cfg config
	var size, docSize, textSize string
	flag.IntVar(&cfg.iterations, "iterations", 3, "runs of each tool per workload (medians are reported)")
	flag.StringVar(&size, "size", "1GiB", "total size of the large composition")
	flag.IntVar(&cfg.files, "files", 8, "number of files the large composition is split into")
	flag.IntVar(&cfg.docs, "docs", 10000, "number of small context documents")
	flag.StringVar(&docSize, "doc-size", "1KiB", "size of each small document")
	flag.StringVar(&textSize, "text-size", "256MiB", "size of the one text component of the text push rows")
	flag.Uint64Var(&cfg.seed, "seed", 8, "seed of the workload generator")
	flag.StringVar(&cfg.workdir, "workdir", "", "directory for workloads, binaries and the registry's store (default: a new temporary directory, removed at the end)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the working directory")
	flag.IntVar(&cfg.proxyRuns, "proxy-runs", 3, "runs of the recording proxy's overhead benchmark (0: none)")
	flag.StringVar(&cfg.proxyDir, "proxy-dir", "", "parent directory of the proxy benchmark's OCI layouts (default: runid-oci-bench in the user's cache directory)")
	flag.DurationVar(&cfg.proxySettle, "proxy-settle", 6*time.Minute, "how long to wait, at most, for a new file in the proxy's directory to cost its normal time (0: do not wait)")
	flag.IntVar(&cfg.storeRuns, "store-runs", 3, "runs of the OCI layout store's benchmark at 10, 10k and 100k identities (0: none)")
	flag.BoolVar(&cfg.storeOnly, "store-only", false, "measure the OCI layout store only")
	flag.IntVar(&cfg.reportRuns, "report-runs", 3, "runs of the HTML report's Chromium load benchmark of 10,000 components (0: none)")
	flag.BoolVar(&cfg.reportOnly, "report-only", false, "measure the HTML report in Chromium only")
	flag.StringVar(&cfg.rows, "rows", "", "comma-separated words: time only the rows of the oras and openssl table whose workload contains one of them, such as pull,documents (default: every row)")
	flag.BoolVar(&cfg.proxyOnly, "proxy-only", false, "measure the recording proxy only, not the oras and openssl rows")
	cfg.curves = curvesFlags(flag.CommandLine)
	flag.StringVar(&cfg.registryDir, "registry-dir", "", "parent directory of the registry's filesystem store (default: /dev/shm when it is a tmpfs, else the working directory)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench [flags]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	var err error
	if cfg.size, err = parseSize(size); err == nil {
		cfg.docSize, err = parseSize(docSize)
	}
	if err == nil {
		cfg.textSize, err = parseSize(textSize)
	}
	if err == nil && (cfg.iterations < 1 || cfg.files < 1 || cfg.docs < 1) {
		err = errors.New("-iterations, -files and -docs must be at least 1")
	}
	if err == nil && (cfg.proxyRuns < 0 || cfg.proxyOnly && cfg.proxyRuns == 0) {
		err = errors.New("-proxy-runs must be at least 0, and at least 1 with -proxy-only")
	}
	if err != nil || flag.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected arguments %q", flag.Args())
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(ctx context.Context, cfg config) error {
	started := time.Now()
	load0 := loadavg()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work := cfg.workdir
	if work == "" {
		if work, err = os.MkdirTemp("", "runid-oci-bench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if work, err = filepath.Abs(work); err != nil {
		return err
	}
	if cfg.keep || cfg.workdir != "" {
		logf("working directory %s (kept)", work)
	} else {
		defer os.RemoveAll(work)
	}
	if cfg.curves.enabled() {
		return runCurves(ctx, root, work, cfg.curves, os.Stdout)
	}

	if cfg.reportOnly || cfg.reportRuns > 0 && !cfg.proxyOnly && !cfg.storeOnly {
		logf("HTML report: %d runs of %s (headless Chromium, 10,000 components)", max(cfg.reportRuns, 1), reportBenchmark)
		rr, err := runReportBench(ctx, root, max(cfg.reportRuns, 1), os.Stderr)
		if err != nil {
			return err
		}
		defer func() {
			fmt.Println()
			writeReportTable(os.Stdout, rr, max(cfg.reportRuns, 1))
		}()
		if cfg.reportOnly {
			printHeader(started, load0, "")
			return nil
		}
	}

	if cfg.storeOnly || cfg.storeRuns > 0 && !cfg.proxyOnly && !cfg.reportOnly {
		logf("OCI layout store: %d runs of %s (the first builds its layouts of 10k and 100k identities in the user's cache directory)", cfg.storeRuns, storeBenchmark)
		sr, err := runStoreBench(ctx, root, max(cfg.storeRuns, 1), os.Stderr)
		if err != nil {
			return err
		}
		defer func() {
			fmt.Println()
			writeStoreTable(os.Stdout, sr, max(cfg.storeRuns, 1))
		}()
		if cfg.storeOnly {
			printHeader(started, load0, "")
			return nil
		}
	}

	// The proxy first, before any workload of the other rows is written
	// and removed (see internal/fsprobe).
	var proxyRuns []proxyRun
	var pdir string
	if cfg.proxyRuns > 0 {
		if pdir, err = proxyDir(cfg.proxyDir); err != nil {
			return err
		}
		probes, err := os.MkdirTemp(pdir, "runid-oci-bench-probes-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(probes)
		cost, err := settle(ctx, probes, fsprobe.Slow, cfg.proxySettle, 15*time.Second, logf)
		if err != nil {
			return err
		}
		logf("recording proxy: %d runs of %s, OCI layouts in %s (a new file there costs %s)", cfg.proxyRuns, proxyBenchmark, pdir, cost)
		if proxyRuns, err = runProxyBench(ctx, root, pdir, cfg.proxyRuns, os.Stderr); err != nil {
			return err
		}
	}
	if cfg.proxyOnly {
		printHeader(started, load0, "")
		writeProxyTable(os.Stdout, proxyRuns, pdir)
		return nil
	}

	// Tools.
	timeBin, openssl, err := ensureTools(ctx)
	if err != nil {
		return err
	}
	bin := filepath.Join(work, "bin")
	runid := filepath.Join(bin, "runid-oci")
	logf("building runid-oci from %s", root)
	build := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", runid, "./cmd/runid-oci")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	build.Env = staticBuild()
	if err := build.Run(); err != nil {
		return fmt.Errorf("build runid-oci: %w", err)
	}
	ggcrBin := filepath.Join(bin, "ggcr-registry")
	build = exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", ggcrBin, "./internal/testregistry/ggcr-registry")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build ggcr-registry: %w", err)
	}
	barepush := filepath.Join(bin, "barepush")
	build = exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", barepush, "./internal/barepush")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	build.Env = staticBuild()
	if err := build.Run(); err != nil {
		return fmt.Errorf("build barepush: %w", err)
	}
	tools := map[clitools.Tool]string{}
	for _, t := range []clitools.Tool{clitools.ToolOras, clitools.ToolRegistry} {
		logf("%s %s: building into the tool cache if needed (the first time takes minutes)", t, t.Version())
		if tools[t], err = clitools.Build(ctx, t); err != nil {
			return err
		}
	}
	oras := tools[clitools.ToolOras]

	// Workloads.
	logf("generating %s in %d files and %d documents of %s (seed %d)", humanSize(cfg.size), cfg.files, cfg.docs, humanSize(cfg.docSize), cfg.seed)
	large, err := genLarge(filepath.Join(work, "large"), cfg.size, cfg.files, cfg.seed)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	docs, err := genDocs(filepath.Join(work, "docs"), cfg.docs, int(cfg.docSize), cfg.seed)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	// One large text component: push scans it for credentials, which a
	// binary component is not.
	text, err := genDocs(filepath.Join(work, "text"), 1, int(cfg.textSize), cfg.seed+1)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}

	// Registry.
	regDir, cleanup, err := registryDir(cfg.registryDir, work)
	if err != nil {
		return err
	}
	defer cleanup()
	reg, err := startRegistry(ctx, tools[clitools.ToolRegistry], regDir)
	if err != nil {
		return err
	}
	defer reg.stop()
	logf("registry %s %s on %s, storage in %s", clitools.ToolRegistry, clitools.ToolRegistry.Version(), reg.host, regDir)
	ggcr, err := startGGCR(ctx, ggcrBin, work)
	if err != nil {
		return err
	}
	defer ggcr.stop()
	ggcrV := ggcrVersion(root)
	logf("registry go-containerregistry %s on %s, in memory", ggcrV, ggcr.host)

	dockerConfig := filepath.Join(work, "docker")
	if err := os.MkdirAll(dockerConfig, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte("{}\n"), 0o644); err != nil {
		return err
	}
	r := &runner{env: append(os.Environ(), "DOCKER_CONFIG="+dockerConfig), timeBin: timeBin, tmp: work}

	ref := func(repo, tag string) string { return reg.host + "/" + repo + ":" + tag }
	ggcrRef := func(repo, tag string) string { return ggcr.host + "/" + repo + ":" + tag }
	runidPush := func(w *workload, target string) command {
		return command{argv: []string{runid, "-o", "json", "push", "--plain-http", target, w.declaration}, dir: w.dir}
	}
	orasPush := func(w *workload, target string) command {
		return command{argv: append([]string{oras, "push", "--plain-http", target}, w.files...), dir: w.dir}
	}
	// The fewest requests a client can send for the same push, from Go's
	// net/http and nothing else: the floor of any Go client on this
	// machine (internal/barepush).
	bare := func(w *workload, host, repo string, single bool) command {
		argv := []string{barepush, "-registry", host, "-repo", repo, "-tag", "v1"}
		if single {
			argv = append(argv, "-single")
		}
		return command{argv: append(argv, w.files...), dir: w.dir}
	}
	digestCmd := command{argv: []string{runid, "digest", large.declaration}, dir: large.dir}

	// Untimed: warm the binaries, check the digest, and push the identities
	// that the re-push and pull rows start from.
	for _, c := range []command{{argv: []string{runid, "version"}}, {argv: []string{oras, "version"}}} {
		if _, err := r.measure(ctx, c); err != nil {
			return err
		}
	}
	s, err := r.measure(ctx, digestCmd)
	if err != nil {
		return err
	}
	want := strings.TrimSpace(string(s.stdout))
	logf("identity of the large composition: %s", want)
	s, err = r.measure(ctx, runidPush(large, ref("bench/again", "v1")))
	if err != nil {
		return err
	}
	if got := pushed(s.stdout).Digest; got != want {
		return fmt.Errorf("runid-oci push gave %s, digest gave %s", got, want)
	}
	if _, err := r.measure(ctx, orasPush(large, ref("bench/again-oras", "v1"))); err != nil {
		return err
	}
	textDigest := command{argv: []string{runid, "digest", text.declaration}, dir: text.dir}
	if _, err := r.measure(ctx, runidPush(text, ref("bench/text-again", "v1"))); err != nil {
		return err
	}

	pullDir := filepath.Join(work, "pulled")
	var repushBytes []int64
	n := 0 // fresh repository counter
	fresh := func(kind string) string { n++; return ref(fmt.Sprintf("bench/%s-%d", kind, n), "v1") }
	freshGGCR := func(kind string) string { n++; return ggcrRef(fmt.Sprintf("bench/%s-%d", kind, n), "v1") }
	freshRepo := func(kind string) string { n++; return fmt.Sprintf("bench/%s-%d", kind, n) }
	nproc := runtime.NumCPU()
	size := humanSize(large.bytes)

	rows := []*struct {
		c      comparison
		ours   func() command
		theirs func() []command
		after  func(ours sample) error
		on     *registry      // measure this registry's CPU time during each run
		bare   func() command // with on: the same push by internal/barepush, measured after each pair
		bares  []sample
	}{
		{
			c:      comparison{workload: fmt.Sprintf("push %s in %d files", size, cfg.files), baseline: "`oras push` of the same files", target: 1.0},
			ours:   func() command { return runidPush(large, fresh("large-runid")) },
			theirs: func() []command { return []command{orasPush(large, fresh("large-oras"))} },
		},
		{
			c: comparison{workload: "push the same identity again", baseline: "`runid-oci digest` of the same declaration", target: 1.3,
				extraTarget: "0 blob bytes uploaded"},
			ours:   func() command { return runidPush(large, ref("bench/again", "v1")) },
			theirs: func() []command { return []command{digestCmd} },
			after: func(s sample) error {
				p := pushed(s.stdout)
				if p.Digest != want {
					return fmt.Errorf("re-push gave %s, want %s", p.Digest, want)
				}
				repushBytes = append(repushBytes, p.BytesUploaded)
				return nil
			},
		},
		{
			c:      comparison{workload: "push the same files again, for reference", baseline: "`oras push` of the same files again"},
			ours:   func() command { return runidPush(large, ref("bench/again", "v1")) },
			theirs: func() []command { return []command{orasPush(large, ref("bench/again-oras", "v1"))} },
		},
		{
			c:      comparison{workload: fmt.Sprintf("push %d context documents of %s", cfg.docs, humanSize(cfg.docSize)), baseline: "`oras push` of the same files", target: 0.5},
			ours:   func() command { return runidPush(docs, fresh("docs-runid")) },
			theirs: func() []command { return []command{orasPush(docs, fresh("docs-oras"))} },
			on:     reg,
			bare:   func() command { return bare(docs, reg.host, freshRepo("docs-bare"), false) },
		},
		{
			c:      comparison{workload: fmt.Sprintf("push %d context documents of %s to go-containerregistry's registry", cfg.docs, humanSize(cfg.docSize)), baseline: "`oras push` of the same files"},
			ours:   func() command { return runidPush(docs, freshGGCR("docs-runid")) },
			theirs: func() []command { return []command{orasPush(docs, freshGGCR("docs-oras"))} },
			on:     ggcr,
			bare:   func() command { return bare(docs, ggcr.host, freshRepo("docs-bare"), true) },
		},
		{
			c:      comparison{workload: fmt.Sprintf("push %s text", humanSize(text.bytes)), baseline: "`oras push` of the same file", target: 1.0},
			ours:   func() command { return runidPush(text, fresh("text-runid")) },
			theirs: func() []command { return []command{orasPush(text, fresh("text-oras"))} },
		},
		{
			c:      comparison{workload: fmt.Sprintf("push the same %s text again", humanSize(text.bytes)), baseline: "`runid-oci digest` of the same declaration", target: 1.3},
			ours:   func() command { return runidPush(text, ref("bench/text-again", "v1")) },
			theirs: func() []command { return []command{textDigest} },
		},
		{
			// The same work as oras: neither flushes the files to disk.
			c: comparison{workload: fmt.Sprintf("pull and verify the %s identity, --no-sync", size), baseline: "`oras pull` of it", target: pullTarget, everyRun: true},
			ours: func() command {
				return command{argv: []string{runid, "pull", "--no-sync", "--plain-http", ref("bench/again", "v1"), "--dir", pullDir}}
			},
			theirs: func() []command {
				return []command{{argv: []string{oras, "pull", "--plain-http", ref("bench/again", "v1"), "-o", pullDir}}}
			},
		},
		{
			c: comparison{workload: fmt.Sprintf("pull and verify the %s identity, flushed to disk, for reference", size), baseline: "`oras pull` of it (not flushed)"},
			ours: func() command {
				return command{argv: []string{runid, "pull", "--plain-http", ref("bench/again", "v1"), "--dir", pullDir}}
			},
			theirs: func() []command {
				return []command{{argv: []string{oras, "pull", "--plain-http", ref("bench/again", "v1"), "-o", pullDir}}}
			},
		},
		{
			c:    comparison{workload: fmt.Sprintf("`digest` of the %s composition", size), baseline: fmt.Sprintf("`openssl dgst -sha256` of the same files, %d in parallel (one per core)", nproc), target: 1.2},
			ours: func() command { return digestCmd },
			theirs: func() []command {
				cmds := make([]command, min(nproc, len(large.files)))
				for i := range cmds {
					cmds[i] = command{argv: []string{openssl, "dgst", "-sha256"}, dir: large.dir}
				}
				for i, f := range large.files {
					c := &cmds[i%len(cmds)]
					c.argv = append(c.argv, f)
				}
				return cmds
			},
		},
		{
			// What every command pays before it does anything: package
			// initialisation and the binary's pages.
			c:      comparison{workload: "process start: `runid-oci version`", baseline: "`oras version`"},
			ours:   func() command { return command{argv: []string{runid, "version"}} },
			theirs: func() []command { return []command{{argv: []string{oras, "version"}}} },
		},
	}
	rows[1].c.extra = func() (bool, string) {
		var most int64
		for _, b := range repushBytes {
			most = max(most, b)
		}
		return most == 0 && len(repushBytes) > 0, fmt.Sprintf("%d B uploaded", most)
	}

	timed := rows[:0]
	for _, row := range rows {
		if rowSelected(cfg.rows, row.c.workload) {
			timed = append(timed, row)
		}
	}
	rows = timed
	for _, row := range rows {
		for i := range cfg.iterations {
			// Alternate: runid-oci, then the baseline, N times. Each run
			// starts with nothing left for the disk to write: the dirty
			// pages of whatever ran before are flushed first, untimed, so
			// that no run pays for the write-back of another.
			measure := func(ctx context.Context, cmds ...command) (sample, error) {
				flushDisk()
				if row.on != nil {
					return r.measureOn(ctx, row.on, cmds...)
				}
				return r.measure(ctx, cmds...)
			}
			s, err := measure(ctx, row.ours())
			if err != nil {
				return err
			}
			if row.after != nil {
				if err := row.after(s); err != nil {
					return err
				}
			}
			if err := os.RemoveAll(pullDir); err != nil {
				return err
			}
			row.c.ours = append(row.c.ours, s)
			t, err := measure(ctx, row.theirs()...)
			if err != nil {
				return err
			}
			if err := os.RemoveAll(pullDir); err != nil {
				return err
			}
			row.c.theirs = append(row.c.theirs, t)
			if row.bare != nil {
				b, err := measure(ctx, row.bare())
				if err != nil {
					return err
				}
				row.bares = append(row.bares, b)
				logf("%-45s #%d  barepush %s", row.c.workload, i+1, seconds(b.wall))
			}
			logf("%-45s #%d  runid-oci %s %s | baseline %s %s", row.c.workload, i+1,
				seconds(s.wall), mib(s.maxRSS), seconds(t.wall), mib(t.maxRSS))
		}
	}

	table := make([]*comparison, len(rows))
	var floors []*floorRow
	for i, row := range rows {
		table[i] = &row.c
		if row.on != nil {
			name := fmt.Sprintf("CNCF Distribution %s, filesystem store in %s", clitools.ToolRegistry.Version(), filepath.Dir(regDir))
			if row.on == ggcr {
				name = fmt.Sprintf("go-containerregistry %s, in memory", ggcrV)
			}
			floors = append(floors, &floorRow{registry: name, cores: nproc, target: floorTarget, ours: row.c.ours, theirs: row.c.theirs, bare: row.bares})
		}
	}
	printHeader(started, load0, fmt.Sprintf("oras %s, Distribution registry %s (loopback, filesystem store in %s); %d iterations, medians; ",
		clitools.ToolOras.Version(), clitools.ToolRegistry.Version(), filepath.Dir(regDir), cfg.iterations))
	writeTable(os.Stdout, table, memTarget)
	if len(floors) > 0 {
		fmt.Printf("\nPush of %d documents of %s against the registry's floor: the CPU time the registry used during each push (utime + stime from /proc), spread over the machine's %d cores; medians, and the least and greatest ratio of a run:\n\n", cfg.docs, humanSize(cfg.docSize), nproc)
		writeFloorTable(os.Stdout, floors)
	}
	if len(proxyRuns) > 0 {
		fmt.Println()
		writeProxyTable(os.Stdout, proxyRuns, pdir)
	}
	return nil
}

// rowSelected reports whether the row of that workload is timed under
// -rows words: every row when words is empty, else a row whose workload
// contains one of the comma-separated words, ignoring case.
func rowSelected(words, workload string) bool {
	if words == "" {
		return true
	}
	for w := range strings.SplitSeq(words, ",") {
		if w = strings.TrimSpace(w); w != "" && strings.Contains(strings.ToLower(workload), strings.ToLower(w)) {
			return true
		}
	}
	return false
}

// printHeader prints the line that opens the results: when and where the
// benchmark ran, what (tools), and the load.
func printHeader(started time.Time, load0, tools string) {
	fmt.Printf("runid-oci benchmark, %s; %s; %s; %sload average %s at the start, %s at the end; %s in all.\n\n",
		started.UTC().Format("2006-01-02 15:04 MST"), machine(), runtime.Version(), tools, load0, loadavg(), time.Since(started).Round(time.Second))
}

// pushResult is the part of `runid-oci -o json push` the benchmark reads.
type pushResult struct {
	Digest        string `json:"digest"`
	BytesUploaded int64  `json:"bytesUploaded"`
}

func pushed(out []byte) pushResult {
	var p pushResult
	_ = json.Unmarshal(out, &p)
	return p
}

// moduleRoot is the directory of this module's go.mod.
// ggcrVersion is the go-containerregistry version this module requires.
func ggcrVersion(root string) string {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/google/go-containerregistry")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the runid-oci checkout (go run ./bench)")
	}
	return filepath.Dir(mod), nil
}

// staticBuild is the environment runid-oci is built in: without cgo, as
// the README builds it and as oras is built for the comparison
// (internal/clitools), a static binary that loads no C library at start.
func staticBuild() []string {
	return append(os.Environ(), "CGO_ENABLED=0")
}

// ensureTools returns the paths of GNU time and openssl, installing the
// Debian packages time and openssl with apt-get when they are missing and
// apt-get can be used.
func ensureTools(ctx context.Context) (timeBin, openssl string, err error) {
	var missing []string
	if _, err := exec.LookPath("time"); err != nil {
		missing = append(missing, "time")
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		missing = append(missing, "openssl")
	}
	if len(missing) > 0 {
		if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
			return "", "", fmt.Errorf("missing %s and cannot install (no apt-get, or not root): install GNU time and openssl and run again", strings.Join(missing, ", "))
		}
		logf("installing %s: apt-get install -y %s", strings.Join(missing, ", "), strings.Join(missing, " "))
		for _, args := range [][]string{{"update"}, append([]string{"install", "-y", "--no-install-recommends"}, missing...)} {
			cmd := exec.CommandContext(ctx, "apt-get", args...)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if err := cmd.Run(); err != nil {
				return "", "", fmt.Errorf("apt-get %s: %w", strings.Join(args, " "), err)
			}
		}
	}
	if timeBin, err = exec.LookPath("time"); err != nil {
		return "", "", err
	}
	if out, err := exec.CommandContext(ctx, timeBin, "--version").CombinedOutput(); err != nil || !strings.Contains(string(out), "GNU") {
		return "", "", fmt.Errorf("%s is not GNU time (-f %%M is needed for peak memory): %s", timeBin, strings.TrimSpace(string(out)))
	}
	openssl, err = exec.LookPath("openssl")
	return timeBin, openssl, err
}

// registryDir picks the directory of the registry's store: below parent if
// given, else on /dev/shm when it is there (a tmpfs: Distribution fsyncs
// every blob it commits, and on a disk those fsyncs, not the clients,
// would decide every push), else in the working directory. The returned
// function removes it.
func registryDir(parent, work string) (string, func(), error) {
	if parent == "" {
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			parent = "/dev/shm"
		} else {
			return filepath.Join(work, "registry"), func() {}, nil
		}
	}
	dir, err := os.MkdirTemp(parent, "runid-oci-bench-registry-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}
