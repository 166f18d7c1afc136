package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// sample is one timed run of one tool: wall-clock time and the peak
// resident memory of the process (ru_maxrss), and what it printed.
type sample struct {
	wall   time.Duration
	maxRSS int64 // bytes
	stdout []byte
	// cpu is the user and system CPU time of the command(s).
	cpu time.Duration
	// regCPU is the CPU time the registry used during the run (measureOn).
	regCPU time.Duration
}

// command is a process to run: argv and working directory.
type command struct {
	argv []string
	dir  string
}

// runner starts the measured processes with one environment (an empty
// Docker config: no credentials, no credential helpers), each under GNU
// time, which reports its peak resident memory.
//
// The rusage that os/exec returns cannot be used for that: Go starts
// children with vfork, and Linux carries the parent's peak RSS into the
// child's ru_maxrss at exec, so every child would report at least the
// driver's own peak. GNU time forks, so the rusage of its child is the
// child's alone.
type runner struct {
	env     []string
	timeBin string // GNU time
	tmp     string // where time writes its reports
	n       int
}

// measure runs the commands in parallel and returns the wall time until
// the last one exits and the largest peak RSS among them.
func (r *runner) measure(ctx context.Context, cmds ...command) (sample, error) {
	procs := make([]*exec.Cmd, len(cmds))
	outs := make([]*bytes.Buffer, len(cmds))
	errs := make([]*bytes.Buffer, len(cmds))
	reports := make([]string, len(cmds))
	for i, c := range cmds {
		r.n++
		reports[i] = filepath.Join(r.tmp, fmt.Sprintf("rss-%d", r.n))
		argv := append([]string{r.timeBin, "-f", "%U %S %M", "-o", reports[i]}, c.argv...)
		p := exec.CommandContext(ctx, argv[0], argv[1:]...)
		p.Dir = c.dir
		p.Env = r.env
		outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
		p.Stdout, p.Stderr = outs[i], errs[i]
		procs[i] = p
	}
	start := time.Now()
	for i, p := range procs {
		if err := p.Start(); err != nil {
			for _, q := range procs[:i] {
				_ = q.Process.Kill()
				_ = q.Wait()
			}
			return sample{}, fmt.Errorf("start %s: %w", cmds[i].argv[0], err)
		}
	}
	var failed []error
	var s sample
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			failed = append(failed, fmt.Errorf("%s: %w\n%s", strings.Join(shorten(cmds[i].argv), " "), err, tail(errs[i].String(), 2000)))
		}
	}
	s.wall = time.Since(start)
	for i, rep := range reports {
		cpu, kb, err := readTimeReport(rep)
		if err != nil && len(failed) == 0 {
			failed = append(failed, fmt.Errorf("%s: peak memory: %w", cmds[i].argv[0], err))
		}
		s.maxRSS = max(s.maxRSS, kb*1024)
		s.cpu += cpu
		_ = os.Remove(rep)
	}
	s.stdout = outs[0].Bytes()
	return s, errors.Join(failed...)
}

// measureOn runs the commands as measure does and records the CPU time
// that the registry process used meanwhile.
func (r *runner) measureOn(ctx context.Context, reg *registry, cmds ...command) (sample, error) {
	before, err := processCPU(reg.cmd.Process.Pid)
	if err != nil {
		return sample{}, fmt.Errorf("registry CPU time: %w", err)
	}
	s, err := r.measure(ctx, cmds...)
	if err != nil {
		return s, err
	}
	after, err := processCPU(reg.cmd.Process.Pid)
	if err != nil {
		return s, fmt.Errorf("registry CPU time: %w", err)
	}
	s.regCPU = after - before
	return s, nil
}

// readTimeReport reads what GNU time wrote with -f "%U %S %M" (its last
// line): the user and system CPU seconds and the peak RSS in KiB.
func readTimeReport(path string) (cpu time.Duration, rssKiB int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	return parseTimeReport(string(b))
}

func parseTimeReport(text string) (cpu time.Duration, rssKiB int64, err error) {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) != 3 {
		return 0, 0, fmt.Errorf("time report %q: want user and system seconds and peak KiB", lines[len(lines)-1])
	}
	for _, x := range f[:2] {
		sec, err := strconv.ParseFloat(x, 64)
		if err != nil || sec < 0 {
			return 0, 0, fmt.Errorf("time report: CPU seconds %q", x)
		}
		cpu += time.Duration(sec * float64(time.Second))
	}
	rssKiB, err = strconv.ParseInt(f[2], 10, 64)
	return cpu, rssKiB, err
}

// shorten keeps a long argument list readable in error messages.
func shorten(argv []string) []string {
	if len(argv) <= 12 {
		return argv
	}
	return append(append(argv[:10:10], fmt.Sprintf("... (%d more)", len(argv)-11)), argv[len(argv)-1])
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// registry is a CNCF Distribution registry running as its own process on
// loopback, storing blobs in a directory.
type registry struct {
	host string // 127.0.0.1:port
	cmd  *exec.Cmd
	log  string
}

const registryConfig = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
  redirect:
    disable: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: runid-oci-bench
`

// freeLoopback returns a loopback address with a port free just now.
func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startRegistry starts bin (CNCF Distribution) with a filesystem store
// below dir, on a free loopback port, and waits until it answers /v2/.
func startRegistry(ctx context.Context, bin, dir string) (*registry, error) {
	host, err := freeLoopback()
	if err != nil {
		return nil, err
	}
	store := filepath.Join(dir, "storage")
	if err := os.MkdirAll(store, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, registryConfig, store, host), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", cfg)
	// Distribution v3 exports OpenTelemetry traces by default; nothing
	// listens for them here.
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none")
	return launch(ctx, cmd, host, filepath.Join(dir, "registry.log"))
}

// startGGCR starts bin (internal/testregistry/ggcr-registry: go-containerregistry's
// in-memory registry) on a free loopback port, its log in dir, and waits
// until it answers /v2/.
func startGGCR(ctx context.Context, bin, dir string) (*registry, error) {
	host, err := freeLoopback()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return launch(ctx, exec.Command(bin, "-addr", host), host, filepath.Join(dir, "ggcr-registry.log"))
}

// launch starts a registry process serving on host, its output in logPath,
// and waits until it answers /v2/.
func launch(ctx context.Context, cmd *exec.Cmd, host, logPath string) (*registry, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start registry: %w", err)
	}
	reg := &registry{host: host, cmd: cmd, log: logPath}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				go func() { <-exited }()
				return reg, nil
			}
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("registry exited: %v\n%s", err, tail(string(out), 2000))
		case <-ctx.Done():
			reg.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			reg.stop()
			return nil, fmt.Errorf("registry did not answer on %s within 30s (log: %s)", host, logPath)
		}
	}
}

// stop kills the registry process.
func (r *registry) stop() {
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
	}
}
