package report_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium package.
const chromiumPath = "/usr/bin/chromium"

// needTool skips the test when the program at path is absent, or fails it
// when RUNID_REQUIRE_TOOLS=1 (as .ci/run sets).
func needTool(t testing.TB, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	msg := fmt.Sprintf("%s is absent: install it with apt-get install -y %s", path, pkg)
	if os.Getenv("RUNID_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg + " (RUNID_REQUIRE_TOOLS=1)")
	}
	t.Skip(msg)
}

// newBrowser starts a headless Chromium with a new empty profile and
// returns its context; every tab opened from it is a new page.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	bctx, _ := newBrowserDir(t)
	return bctx
}

// newBrowserDir is newBrowser, and returns the browser's profile directory,
// which names its processes.
func newBrowserDir(t testing.TB) (context.Context, string) {
	t.Helper()
	needTool(t, chromiumPath, "chromium")
	profile := t.TempDir()
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	)
	t.Cleanup(cancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx, profile
}

// cpuTime is the processor time (user and system) that the processes
// whose command line holds marker have used so far, from /proc.
func cpuTime(marker string) time.Duration {
	var ticks int64
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte(marker)) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name in parentheses; utime and stime
		// are fields 14 and 15 of the whole line.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 13 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// pageEvents is what a page did while it was open: every request, console
// message, log entry of level warning or error, exception and dialog.
type pageEvents struct {
	mu       sync.Mutex
	requests []string
	console  []string
}

func (e *pageEvents) listen(ev any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		e.requests = append(e.requests, ev.Request.URL)
	case *runtime.EventConsoleAPICalled:
		e.console = append(e.console, "console."+string(ev.Type))
	case *runtime.EventExceptionThrown:
		e.console = append(e.console, "exception: "+ev.ExceptionDetails.Text)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
			e.console = append(e.console, string(ev.Entry.Level)+": "+ev.Entry.Text)
		}
	case *page.EventJavascriptDialogOpening:
		e.console = append(e.console, "dialog: "+ev.Message)
	}
}

// check fails t if the page made a request other than loading fileURL, or
// logged anything.
func (e *pageEvents) check(t testing.TB, fileURL string) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.requests {
		if r != fileURL {
			t.Errorf("the page made a request: %s", r)
		}
	}
	if len(e.requests) == 0 {
		t.Error("no request seen at all: the network listener does not work")
	}
	for _, c := range e.console {
		t.Errorf("the page logged: %s", c)
	}
}

// tab is one loaded report.
type tab struct {
	ctx    context.Context
	events *pageEvents
	url    string
	width  int64
	// LoadMS is the time from navigation start to the end of the load
	// event, as the page's navigation timing measures it.
	LoadMS float64
}

// openReport opens the report file at path in a new tab of a window
// width x height CSS pixels wide (mobile: a phone).
func openReport(t testing.TB, bctx context.Context, path string, width, height int64, mobile bool) *tab {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	tb := &tab{events: &pageEvents{}, url: (&url.URL{Scheme: "file", Path: abs}).String(), width: width}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithListener(tb.events.listen))
	t.Cleanup(cancel)
	ctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(tcancel)
	tb.ctx = ctx
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height, opts...), chromedp.Navigate(tb.url)); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	tb.LoadMS, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByType('navigation')[0].loadEventEnd`))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// pageFacts is what a loaded report shows, read from its DOM.
type pageFacts struct {
	Title     string   `json:"title"`
	Verdict   string   `json:"verdict"`
	Roles     []string `json:"roles"`
	Hidden    []string `json:"hidden"`
	GraphBoxs int      `json:"graphBoxes"`
	GraphW    float64  `json:"graphW"`
	Active    int      `json:"active"`
	OverflowX bool     `json:"overflowX"`
}

const factsJS = `((width) => {
	const roles = [...document.querySelectorAll('section.role')];
	const svg = document.querySelector('#graph svg');
	return {
		title: document.title,
		verdict: document.querySelector('#verdict .word')?.textContent ?? '',
		roles: roles.map(s => s.id.replace(/^role-/, '')),
		hidden: roles.filter(s => s.getBoundingClientRect().height === 0).map(s => s.id),
		graphBoxes: document.querySelectorAll('#graph svg g.node').length,
		graphW: svg ? svg.getBoundingClientRect().width : 0,
		active: document.querySelectorAll('script, iframe, object, embed, img, link, form, input, base, meta[http-equiv=refresh]').length,
		overflowX: document.documentElement.scrollWidth > width + 1,
	};
})`

func (tb *tab) facts(t testing.TB) pageFacts {
	t.Helper()
	f, err := chromedp.Run(tb.ctx, chromedp.Evaluate[pageFacts](fmt.Sprintf("%s(%d)", factsJS, tb.width)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (tb *tab) screenshot(t testing.TB, name string) {
	t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, name, buf)
}

// pdf prints the page as Chromium's print does.
func (tb *tab) pdf(t testing.TB) []byte {
	t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

// printFacts reads, with print media emulated, the rules that keep a
// printed table whole: rows not split across pages, headers repeated, and
// folded content unfolded.
func (tb *tab) printFacts(t testing.TB) map[string]any {
	t.Helper()
	media := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	})
	if err := chromedp.Do(tb.ctx, media); err != nil {
		t.Fatal(err)
	}
	f, err := chromedp.Run(tb.ctx, chromedp.Evaluate[map[string]any](`(() => {
		const style = s => { const e = document.querySelector(s); return e ? getComputedStyle(e) : null; };
		const closed = [...document.querySelectorAll('details.comp:not([open]) pre')];
		return {
			rowBreak: style('table.checks tbody tr')?.breakInside,
			headGroup: style('table.checks thead')?.display,
			closedShown: closed.filter(p => p.getBoundingClientRect().height > 0).length,
			closed: closed.length,
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
