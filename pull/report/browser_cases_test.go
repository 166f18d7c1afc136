package report_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull/diff"
	"github.com/runid/runid-oci/pull/policy"
	"github.com/runid/runid-oci/pull/report"
	"github.com/runid/runid-oci/spec"
)

// printed are the reports printed to PDF: one identity (its checks,
// composition, graph) and one diff (its side-by-side tables).
var printed = map[string]bool{"rag-agent": true, "rag-agent-vs-v2": true}

// Widths the reports are looked at: a desktop window and a phone.
const (
	desktopW, desktopH = 1280, 900
	phoneW, phoneH     = 390, 844
)

// TestBrowserExamples opens the report of each worked example, and of the
// diff between two of them, in Chromium: no request, no console message,
// the verdict, every role and the graph shown, at desktop and phone
// widths; and prints it to PDF.
func TestBrowserExamples(t *testing.T) {
	bctx := newBrowser(t)
	key := testutil.Key(t)
	s := newLayout(t)
	for _, name := range exampleNames {
		pushExample(t, s, name)
	}
	testutil.Push(t, s, testutil.Load(t, changedRAGAgent(t)), "rag-agent-v2")
	for _, name := range append(slices.Clone(exampleNames), "rag-agent-vs-minimal", "rag-agent-vs-v2") {
		t.Run(name, func(t *testing.T) {
			ref, opts := name, report.Options{Location: s.location(), Keys: []report.KeyCheck{keyCheck("cosign.pub", key)}}
			if against, ok := strings.CutPrefix(name, "rag-agent-vs-"); ok {
				ref = "rag-agent"
				if against == "v2" {
					against = "rag-agent-v2"
				}
				other := diff.IdentitySide(s, against)
				other.Name = s.dir + ":" + against
				opts.Against = &other
			} else {
				if _, err := sign.Sign(t.Context(), s, name, key, sign.SignOptions{}); err != nil {
					t.Fatal(err)
				}
				attachRecord(t, s, name, map[string]any{spec.FactStatus: spec.StatusSucceeded, spec.FactStartedAt: "2026-12-01T09:00:00Z",
					spec.FactEndedAt: "2026-12-01T09:00:04Z", spec.FactServedModel: "gpt-4o-mini-2024-07-18"}, "answer.md", []byte("# Answer\n"))
			}
			r, doc := render(t, s, ref, opts)
			path := writeArtifact(t, name+".html", doc)
			var roles []string
			for _, role := range r.Roles {
				roles = append(roles, role.Name)
			}
			want := "verified"
			if !r.Verified {
				want = "does not verify"
			}
			for _, v := range []struct {
				label         string
				width, height int64
				mobile        bool
			}{{"desktop", desktopW, desktopH, false}, {"phone", phoneW, phoneH, true}} {
				tb := openReport(t, bctx, path, v.width, v.height, v.mobile)
				f := tb.facts(t)
				tb.events.check(t, tb.url)
				if f.Verdict != want {
					t.Errorf("%s: verdict %q, want %q", v.label, f.Verdict, want)
				}
				if !slices.Equal(f.Roles, roles) {
					t.Errorf("%s: roles shown %v, want %v", v.label, f.Roles, roles)
				}
				if len(f.Hidden) > 0 {
					t.Errorf("%s: roles not displayed: %v", v.label, f.Hidden)
				}
				if f.GraphBoxs < 1 || f.GraphW <= 0 {
					t.Errorf("%s: graph not drawn: %d boxes, %.0f px wide", v.label, f.GraphBoxs, f.GraphW)
				}
				if f.Active != 0 {
					t.Errorf("%s: %d active elements (script, img, link...)", v.label, f.Active)
				}
				if f.OverflowX {
					t.Errorf("%s: the page scrolls sideways", v.label)
				}
				if name == "rag-agent-vs-v2" {
					checkSideBySide(t, tb)
				}
				tb.screenshot(t, name+"-"+v.label+".png")
				if v.label == "desktop" && printed[name] {
					checkPrint(t, tb, name, roles, want)
				}
			}
		})
	}
}

// changedRAGAgent copies the rag-agent example with another temperature
// and one line of its system prompt changed, and returns its declaration.
func changedRAGAgent(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rag-agent-v2")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(examples, "rag-agent"))); err != nil {
		t.Fatal(err)
	}
	edit := func(file, from, to string) {
		p := filepath.Join(dir, file)
		b := testutil.ReadFile(t, p)
		if !bytes.Contains(b, []byte(from)) {
			t.Fatalf("%s has no %q", file, from)
		}
		if err := os.WriteFile(p, bytes.Replace(b, []byte(from), []byte(to), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("runid.yaml", "temperature: 0.2", "temperature: 0.7")
	edit("prompts/system.md", "Be warm and direct.", "Be warm, direct and brief.")
	return filepath.Join(dir, "runid.yaml")
}

// checkSideBySide: the changed line of the system prompt is shown old on
// the left and new on the right, marked changed; the temperature is listed
// by path.
func checkSideBySide(t *testing.T, tb *tab) {
	t.Helper()
	got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[map[string]string](`(() => {
		const row = document.querySelector('table.sbs tr.chg');
		const path = [...document.querySelectorAll('table.paths tr')].find(r => r.textContent.includes('parameters.temperature'));
		return {a: row?.querySelector('td.a')?.textContent ?? '', b: row?.querySelector('td.b')?.textContent ?? '', path: path?.textContent ?? '',
			unchanged: document.querySelector('details.unchanged summary')?.textContent ?? ''};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got["a"], "Be warm and direct.") || !strings.Contains(got["b"], "Be warm, direct and brief.") {
		t.Errorf("changed line shown as %q | %q", got["a"], got["b"])
	}
	if !strings.Contains(got["path"], "0.2") || !strings.Contains(got["path"], "0.7") {
		t.Errorf("temperature change shown as %q", got["path"])
	}
	if !strings.Contains(got["unchanged"], "unchanged role") {
		t.Errorf("unchanged roles not collapsed: %q", got["unchanged"])
	}
}

// checkPrint prints the page to PDF, checks the print rules that keep
// tables whole, and that the PDF's text has the verdict and every role.
func checkPrint(t *testing.T, tb *tab, name string, roles []string, verdict string) {
	t.Helper()
	pdf := tb.pdf(t)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatal("print gave no PDF")
	}
	p := writeArtifact(t, name+".pdf", pdf)
	pf := tb.printFacts(t)
	if pf["rowBreak"] != "avoid" || pf["headGroup"] != "table-header-group" {
		t.Errorf("print rules: table rows break-inside %v, headers %v; want avoid, table-header-group", pf["rowBreak"], pf["headGroup"])
	}
	if pf["closedShown"] != pf["closed"] {
		t.Errorf("print: %v of %v folded contents are printed", pf["closedShown"], pf["closed"])
	}
	needTool(t, "/usr/bin/pdftotext", "poppler-utils")
	out, err := exec.Command("pdftotext", "-layout", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := string(out)
	for _, w := range append([]string{"Verdict: " + verdict}, roles...) {
		if !strings.Contains(text, w) {
			t.Errorf("the printed report lacks %q", w)
		}
	}
	// The first pages as pictures, to look at.
	if err := exec.Command("pdftoppm", "-png", "-r", "60", "-l", "3", p, filepath.Join(filepath.Dir(p), name+"-page")).Run(); err != nil {
		t.Errorf("pdftoppm: %v", err)
	}
}

// hostile strings: markup, script, entity-looking text, a right-to-left
// override.
const (
	hostileName  = "context/&lt;b&gt;bold&lt;/b&gt; x' onmouseover='alert(1) & co.md"
	hostileText  = "<script>alert(\"text\")</script>\n<img src=\"http://127.0.0.1:9/x.png\" onerror=\"alert(2)\">\n</pre></details><h1 id=injected>INJECTED</h1>\ninvoice\u202Efdp.exe\n<!-- a comment -->\n<style>body{display:none}</style>\n<link rel=stylesheet href=\"http://127.0.0.1:9/s.css\">\n"
	hostileModel = "<script>alert('fact')</script>\u202Eledom"
)

// TestBrowserHostile: markup, script and a right-to-left override in
// names, content and execution facts are shown as text, never run or
// rendered as markup, and the page requests nothing.
func TestBrowserHostile(t *testing.T) {
	bctx := newBrowser(t)
	var run pack.Run
	run.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]any{"provider": "<b>acme</b>", "name": "m\u202Eodel"}))
	run.Add(mediatype.RoleContext, pack.Text(hostileName, hostileText))
	run.Add(mediatype.RoleInput, pack.JSON("input/messages.json", []any{map[string]any{"role": "user", "content": `<iframe src="http://127.0.0.1:9/"></iframe>"</script><script>alert(3)</script>`}}))
	run.Add(mediatype.RoleConfig, pack.YAML("config/agent.yaml", []byte("greeting: <svg onload=alert(4)>\n")))
	run.None(mediatype.RoleParameters, mediatype.RoleSystemPrompt, mediatype.RoleTools, mediatype.RoleRuntime)
	comp, err := run.Compose(t.Context(), pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := newLayout(t)
	if _, err := pack.Push(t.Context(), s, comp, pack.PushOptions{Tag: "hostile"}); err != nil {
		t.Fatal(err)
	}
	attachRecord(t, s, "hostile", map[string]any{spec.FactStatus: spec.StatusFailed, spec.FactServedModel: hostileModel,
		spec.FactInstanceID: "</text></svg><script>alert(5)</script>", "note": "<img src=x onerror=alert(6)>"}, "out.md", []byte("<script>alert(7)</script>"))
	_, doc := render(t, s, "hostile", report.Options{Location: s.location()})
	path := writeArtifact(t, "hostile.html", doc)
	tb := openReport(t, bctx, path, desktopW, desktopH, false)
	tb.events.check(t, tb.url)
	f := tb.facts(t)
	if f.Active != 0 {
		t.Errorf("%d active elements (script, img, iframe...) in the page", f.Active)
	}
	got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[map[string]any](`(() => {
		const comp = [...document.querySelectorAll('details.comp')].find(d => d.querySelector('.name').textContent.startsWith('context/'));
		return {
			injected: document.getElementById('injected') !== null,
			name: comp.querySelector('.name').textContent,
			lines: [...comp.querySelectorAll('pre.code > span')].map(s => s.textContent).join('\n') + '\n',
			warn: comp.querySelector('.warn')?.textContent ?? '',
			graph: [...document.querySelectorAll('#graph svg text')].map(t => t.textContent),
			facts: document.querySelector('table.nodes').textContent,
			bodyShown: getComputedStyle(document.body).display !== 'none',
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got["injected"] != false || got["bodyShown"] != true {
		t.Errorf("content was rendered as markup: %v", got)
	}
	if got["name"] != hostileName {
		t.Errorf("name shown as %q, want %q", got["name"], hostileName)
	}
	if got["lines"] != hostileText {
		t.Errorf("content shown as %q, want %q", got["lines"], hostileText)
	}
	if !strings.Contains(fmt.Sprint(got["warn"]), "U+202E") {
		t.Errorf("the right-to-left override is not pointed out: %q", got["warn"])
	}
	facts := fmt.Sprint(got["facts"])
	for _, want := range []string{hostileModel, "</text></svg><script>alert(5)</script>", "<img src=x onerror=alert(6)>"} {
		if !strings.Contains(facts, want) {
			t.Errorf("the graph table does not show %q as text", want)
		}
	}
	if !slices.ContainsFunc(got["graph"].([]any), func(v any) bool { return strings.Contains(fmt.Sprint(v), "<script>alert('fact')") }) {
		t.Errorf("the drawing does not show the served model as text: %v", got["graph"])
	}
	tb.screenshot(t, "hostile.png")
}

// largeComponents is the size of the large identity.
const largeComponents = 10000

// pushLarge pushes an identity of n small text components.
func pushLarge(t testing.TB, s layoutStore, n int) {
	t.Helper()
	var run pack.Run
	run.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]any{"provider": "openai", "name": "gpt-4o-mini"}))
	parts := make([]pack.Part, n)
	for i := range parts {
		parts[i] = pack.Text(fmt.Sprintf("context/doc-%05d.md", i), fmt.Sprintf("# Document %d\n\nRetrieved passage number %d, ranked by the retriever.\nIt is short, as most retrieved chunks are.\n", i, i))
	}
	run.Add(mediatype.RoleContext, parts...)
	run.None(mediatype.RoleParameters, mediatype.RoleSystemPrompt, mediatype.RoleTools, mediatype.RoleInput, mediatype.RoleConfig, mediatype.RoleRuntime)
	comp, err := run.Compose(t.Context(), pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.Push(t.Context(), s, comp, pack.PushOptions{Tag: "large"}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserLarge: a report of 10,000 components stays under 20 MB and
// loads in Chromium without error; the load time is reported (the 3 s
// target is measured by BenchmarkBrowserLoadLarge), with a generous bound.
func TestBrowserLarge(t *testing.T) {
	bctx := newBrowser(t)
	s := newLayout(t)
	pushLarge(t, s, largeComponents)
	r, doc := render(t, s, "large", report.Options{Location: s.location()})
	if r.Components != largeComponents+1 || !r.Verified {
		t.Fatalf("%d components, verified %v", r.Components, r.Verified)
	}
	if len(doc) >= 20<<20 {
		t.Fatalf("report of %d components is %d bytes, over 20 MB", largeComponents, len(doc))
	}
	path := writeArtifact(t, "large.html", doc)
	tb := openReport(t, bctx, path, desktopW, desktopH, false)
	tb.events.check(t, tb.url)
	f := tb.facts(t)
	if f.Verdict != "verified" || len(f.Roles) != 8 {
		t.Errorf("verdict %q, roles %v", f.Verdict, f.Roles)
	}
	t.Logf("%d components: %d bytes, loaded in %.0f ms", largeComponents, len(doc), tb.LoadMS)
	if tb.LoadMS > 30000 {
		t.Errorf("loading took %.0f ms", tb.LoadMS)
	}
	_ = os.Remove(path)
}

// TestBrowserPolicy opens the report of the unsigned rag-agent example with
// the example policies in Chromium: the verdict shows that the policies
// deny it, names each policy file and lists each denial as shown text.
func TestBrowserPolicy(t *testing.T) {
	bctx := newBrowser(t)
	pol, err := policy.Load(t.Context(), []string{policyDir}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newLayout(t)
	pushExample(t, s, "rag-agent")
	r, doc := render(t, s, "rag-agent", report.Options{Location: s.location(), Policy: pol})
	if r.Policy == nil || r.Policy.Allowed {
		t.Fatalf("decision %+v: want a denial", r.Policy)
	}
	tb := openReport(t, bctx, writeArtifact(t, "policy.html", doc), desktopW, desktopH, false)
	tb.events.check(t, tb.url)
	type policyFacts struct {
		Verdict  string   `json:"verdict"`
		Word     string   `json:"word"`
		Files    []string `json:"files"`
		Denials  []string `json:"denials"`
		Visible  bool     `json:"visible"`
		Selected []string `json:"selected"`
	}
	shown, err := chromedp.Run(tb.ctx, chromedp.Evaluate[policyFacts](`(() => {
		const p = document.querySelector('#verdict .policy');
		const text = (sel) => [...document.querySelectorAll(sel)].map(e => e.textContent);
		return {
			verdict: document.querySelector('#verdict .word')?.textContent ?? '',
			word: p?.querySelector('.word')?.textContent ?? '',
			files: text('#verdict .policies li'),
			denials: text('#verdict .denials li'),
			visible: !!p && p.getBoundingClientRect().height > 0,
			selected: text('#verdict > table.checks tr.bad td:first-child'),
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if shown.Verdict != "does not verify" || shown.Word != "denied" || !shown.Visible {
		t.Errorf("verdict %q, policies %q, visible %v: want does not verify, denied, shown", shown.Verdict, shown.Word, shown.Visible)
	}
	if !slices.Equal(shown.Files, pol.Files()) {
		t.Errorf("policy files shown %q, want %q", shown.Files, pol.Files())
	}
	if !slices.Equal(shown.Denials, r.Policy.Deny) {
		t.Errorf("denials shown %q, want %q", shown.Denials, r.Policy.Deny)
	}
	if len(shown.Selected) != len(r.Policy.Deny) || slices.ContainsFunc(shown.Selected, func(c string) bool { return c != "policy" }) {
		t.Errorf("failed checks shown %q, want one policy check per denial", shown.Selected)
	}
	tb.screenshot(t, "policy-desktop.png")
}
