package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/clitools"
)

func TestCurveTableAndDraw(t *testing.T) {
	c := &curve{file: "t.svg", title: "Push against components", xLabel: "components", yLabel: "seconds", logY: true}
	c.add("runid-oci push", point{x: 1, y: 0.5})
	c.add("runid-oci push", point{x: 100, y: 1.25})
	c.add("oras push", point{x: 1, y: 0.75})
	c.add("oras push", point{x: 100, skip: "not run: over the limit"})
	var b strings.Builder
	c.table(&b)
	for _, want := range []string{
		"| components | runid-oci push | oras push |",
		"| 1 | 0.5 | 0.75 |",
		"| 100 | 1.25 | — (not run: over the limit) |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	dir := t.TempDir()
	if err := c.draw(dir); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "t.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "Push against components", "runid-oci push", "oras push"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	empty := &curve{file: "e.svg", title: "nothing"}
	empty.add("x", point{x: 1, skip: "failed"})
	if err := empty.draw(dir); err == nil {
		t.Error("a curve without a measured point drew")
	}
}

func TestParseBenchLines(t *testing.T) {
	out := `goos: linux
BenchmarkStoreScale/identities=1000-2   	      10	  40000000 ns/op	        30.0 attach-ms	         0.1 open-ms	         5.0 push-ms	         0.05 resolve-ms
BenchmarkTaggedPush/tags=100000-2       	      10	 150000000 ns/op	     26000 index-KiB	       200.0 resolve-us
PASS
`
	r := parseBenchResults(out)
	if got := r["BenchmarkStoreScale/identities=1000"]["push-ms"]; got != 5 {
		t.Errorf("push-ms: %v", got)
	}
	if got := r["BenchmarkTaggedPush/tags=100000"]["ns/op"]; got != 150e6 {
		t.Errorf("ns/op: %v", got)
	}
	if got := r["BenchmarkTaggedPush/tags=100000"]["index-KiB"]; got != 26000 {
		t.Errorf("index-KiB: %v", got)
	}
}

// TestCurvesQuick runs go run ./bench -curves-quick: every curve at small
// sizes, with the real tools (runid-oci built from this checkout, oras,
// the Distribution registry, a recording proxy), drawn into a temporary
// directory. It takes minutes on a loaded machine; -short skips it.
func TestCurvesQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the curves need the tools and minutes")
	}
	// The curves run the prebuilt oras and Distribution; a test never builds
	// them (clitools says why): without them it skips, naming the command.
	clitools.Oras(t)
	clitools.Registry(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	cfg := &curvesConfig{quick: true, out: filepath.Join(work, "out"), bound: curvesFlags(newFlagSet()).bound, iterations: 1}
	var b strings.Builder
	if err := runCurves(context.Background(), root, work, cfg, &b); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	for _, f := range []string{"curves-components-push.svg", "curves-components-verify.svg", "curves-components-rss.svg",
		"curves-layout.svg", "curves-tags.svg", "curves-proxy-overhead.svg", "curves-proxy-rss.svg"} {
		if fi, err := os.Stat(filepath.Join(cfg.out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not drawn: %v", f, err)
		}
	}
	for _, want := range []string{"| 10 |", "runid-oci push --oci-layout", "oras push --oci-layout", "resident (VmRSS)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("tables lack %q:\n%s", want, b.String())
		}
	}
	t.Log(b.String())
}

func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("bench", flag.ContinueOnError) }
