package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// serviceHeader carries the time the benchmark's upstream spent on a
// request, so that a client can tell the proxy's part of its wait.
const serviceHeader = "X-Bench-Service"

// proxyCurves: the recording proxy (`runid-oci proxy --oci-layout`, its own
// process, durable layout in the user's cache directory) serving distinct
// 10 KB Chat Completions requests from several clients at once to an
// upstream that answers at once. After each checkpoint of requests
// served, the overhead of the requests since the previous checkpoint
// (their latency minus the upstream's time, minus the same for direct
// requests) at the median and 99th percentile, and the proxy's resident
// memory.
func (e *curveEnv) proxyCurves(ctx context.Context) ([]*curve, error) {
	over := &curve{file: "curves-proxy-overhead.svg", title: "Recording proxy: latency it adds against requests served",
		xLabel: "requests served", yLabel: "ms added per request"}
	mem := &curve{file: "curves-proxy-rss.svg", title: "Recording proxy: resident memory against requests served",
		xLabel: "requests served", yLabel: "MiB resident"}

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(serviceHeader, strconv.FormatInt(int64(time.Since(start)), 10))
		_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Done."},"finish_reason":"stop"}],"usage":{"prompt_tokens":2500,"completion_tokens":2,"total_tokens":2502}}`)
	}))
	defer up.Close()

	parent, err := proxyDir("")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "curves-proxy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logPath := filepath.Join(e.work, "proxy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	proc := exec.Command(e.runid, "proxy", "--listen", addr, "--upstream", up.URL, "--oci-layout", filepath.Join(dir, "runs"))
	proc.Stdout, proc.Stderr = logFile, logFile
	if err := proc.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()
	defer func() {
		_ = proc.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(2 * time.Minute):
			_ = proc.Process.Kill()
			<-exited
		}
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("runid-oci proxy exited: %v\n%s", err, tail(string(out), 2000))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("runid-oci proxy did not listen on %s within 30s", addr)
		}
	}

	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * e.sizes.clients}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	send := func(url string, n int) ([]time.Duration, error) {
		return excesses(ctx, client, url, n, e.sizes.clients, &next)
	}
	// Warm up, then the direct requests every checkpoint is compared with.
	if _, err := send(up.URL, 4*e.sizes.clients); err != nil {
		return nil, err
	}
	if _, err := send(base, 4*e.sizes.clients); err != nil {
		return nil, err
	}
	direct, err := send(up.URL, min(2000, e.sizes.checkpoints[len(e.sizes.checkpoints)-1]))
	if err != nil {
		return nil, err
	}
	d50, d99 := quantile(direct, 0.50), quantile(direct, 0.99)
	budget := e.cfg.bound * 5
	start := time.Now()
	served := 0
	for _, cp := range e.sizes.checkpoints {
		n := cp - served
		x := float64(cp)
		if served > 0 {
			rate := float64(served) / time.Since(start).Seconds()
			if eta := time.Duration(float64(n) / rate * float64(time.Second)); time.Since(start)+eta > budget {
				why := fmt.Sprintf("not run: at %.0f requests/s it would take %s more, over %s", rate, eta.Round(time.Second), budget)
				for _, s := range []string{"p50", "p99"} {
					over.add(s, point{x: x, skip: why})
				}
				mem.add("resident (VmRSS)", point{x: x, skip: why})
				continue
			}
		}
		t0 := time.Now()
		ex, err := send(base, n)
		if err != nil {
			return nil, err
		}
		served = cp
		rss, err := procStatus(proc.Process.Pid, "VmRSS")
		if err != nil {
			return nil, err
		}
		p50 := quantile(ex, 0.50) - d50
		p99 := quantile(ex, 0.99) - d99
		e.logf("proxy: %d requests served (%.0f requests/s over the last %d): overhead p50 %.2f ms, p99 %.2f ms, resident %s",
			cp, float64(n)/time.Since(t0).Seconds(), n, ms(p50), ms(p99), mib(rss))
		over.add("p50", point{x: x, y: ms(p50)})
		over.add("p99", point{x: x, y: ms(p99)})
		mem.add("resident (VmRSS)", point{x: x, y: float64(rss) / (1 << 20)})
	}
	if f, ok := mem.flatness()["resident (VmRSS)"]; ok {
		mem.notes = append(mem.notes, fmt.Sprintf("Resident memory at the last checkpoint: %.2fx the first (the store keeps nothing per request).", f))
	}
	return []*curve{over, mem}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// excesses sends n distinct requests to base from clients clients at once
// and returns, for each, its latency minus the time the upstream spent.
func excesses(ctx context.Context, client *http.Client, base string, n, clients int, next *atomic.Int64) ([]time.Duration, error) {
	out := make([]time.Duration, n)
	var i atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range clients {
		wg.Go(func() {
			for {
				k := i.Add(1) - 1
				if k >= int64(n) || ctx.Err() != nil {
					return
				}
				body := chatRequest(next.Add(1))
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				t := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = fmt.Errorf("POST %s: status %d", base, res.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				service, _ := strconv.ParseInt(res.Header.Get(serviceHeader), 10, 64)
				out[k] = time.Since(t) - time.Duration(service)
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return out, first
}

// chatRequest is a Chat Completions request of about 10 KB, distinct for
// each n, so that each declares a new identity.
func chatRequest(n int64) string {
	filler := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 220)
	return fmt.Sprintf(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You answer questions about the attached report."},`+
		`{"role":"user","content":%q}],"temperature":0.2,"max_tokens":256}`, fmt.Sprintf("Request %d. %s", n, filler))
}

// quantile returns the q-quantile of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// procStatus reads a "kB" field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}
