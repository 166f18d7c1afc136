package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runid/runid-oci/pull"
)

//go:embed report.html.tmpl
var pageTemplate string

//go:embed report.css
var pageCSS string

// Layout of the rendered composition.
const (
	// openLines: content of at most this many lines is shown unfolded
	// (in a role of at most openComponents components).
	openLines      = 30
	openComponents = 50
)

// tmpl is the page template, parsed on first use so that commands which
// render no report do not parse it when the process starts.
var tmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"css":   func() template.CSS { return template.CSS(pageCSS) },
		"bytes": humanBytes,
		"add":   func(a, b int) int { return a + b },
		"mul16": func(a int) int { return a * graphLineH },
	}).Parse(pageTemplate))
})

// RenderOptions configure Render. The zero value is valid.
type RenderOptions struct {
	// MaxGraphNodes is how many nodes of the referrer graph are drawn.
	// Default: DefaultMaxGraphNodes.
	MaxGraphNodes int
}

// view is what the template shows.
type view struct {
	*Report
	Title       string
	Failed      []pull.Check
	Roles       []roleView
	Graph       *graphView
	Links       []*graphNode
	Changed     []roleDiffView
	Unchanged   []roleDiffView
	Commands    []commandGroup
	Generated   string
	Withheld    int
	CheckGroups []checkGroup
}

// checkGroup counts the checks of one name, for a report with too many
// checks to list one by one.
type checkGroup struct {
	Check          string
	Passed, Failed int
}

// maxListedChecks is how many checks are listed one by one.
const maxListedChecks = 300

type roleView struct {
	Role
	Pages []page
}

// page is a foldable run of components. The first page of a role shows
// each component with its content; the further pages of a large role list
// the components as lines of text (index, name, media type, size, digest),
// which a browser lays out far faster than one element per field.
type page struct {
	From, To   int
	Open       bool
	Components []componentView
	Listing    string
}

type componentView struct {
	Component
	Open bool
	// Bidi lists the bidirectional control characters in the name or the
	// content (U+202E...): they are shown as they are, isolated, and named.
	Bidi []string
}

// Render writes r as one self-contained HTML document to w.
func Render(w io.Writer, r *Report, opts RenderOptions) error {
	pageSize := r.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	if opts.MaxGraphNodes <= 0 {
		opts.MaxGraphNodes = DefaultMaxGraphNodes
	}
	v := &view{Report: r, Failed: r.Failed(), Commands: recheckCommands(r)}
	v.Title = "Run report " + short(string(r.IdentityDigest))
	if r.IdentityDigest == "" {
		v.Title = "Run report " + r.Reference
	}
	if len(r.Checks) > maxListedChecks {
		v.CheckGroups = groupChecks(r.Checks)
	}
	if !r.Generated.IsZero() {
		v.Generated = r.Generated.UTC().Format(time.RFC3339)
	}
	for _, role := range r.Roles {
		rv := roleView{Role: role}
		for from := 0; from < len(role.Components); from += pageSize {
			to := min(from+pageSize, len(role.Components))
			p := page{From: from + 1, To: to, Open: from == 0}
			if from > 0 {
				var b strings.Builder
				for _, c := range role.Components[from:to] {
					fmt.Fprintf(&b, "#%d  %s  %s  %s  %s\n", c.Index, c.Name, c.MediaType, humanBytes(c.Size), c.Digest)
					if c.Withheld() {
						v.Withheld++
					}
				}
				p.Listing = b.String()
				rv.Pages = append(rv.Pages, p)
				continue
			}
			for _, c := range role.Components[from:to] {
				cv := componentView{Component: c, Bidi: bidiControls(c.Name, c.Content.Lines)}
				cv.Open = len(c.Content.Lines) > 0 && len(c.Content.Lines) <= openLines && len(role.Components) <= openComponents
				if c.Withheld() {
					v.Withheld++
					cv.Open = len(role.Components) <= openComponents
				}
				p.Components = append(p.Components, cv)
			}
			rv.Pages = append(rv.Pages, p)
		}
		v.Roles = append(v.Roles, rv)
	}
	if r.Graph != nil {
		v.Graph = layoutGraph(r.Graph, opts.MaxGraphNodes)
		for _, n := range v.Graph.Nodes {
			if n.Kind == "link" {
				v.Links = append(v.Links, n)
			}
		}
	}
	if r.Comparison != nil {
		v.Changed, v.Unchanged = diffViews(r.Comparison)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := tmpl().Execute(bw, v); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return bw.Flush()
}

// bidiControls names the bidirectional control characters in name and lines.
func bidiControls(name string, lines []string) []string {
	var found []string
	seen := map[rune]bool{}
	scan := func(s string) {
		for _, r := range s {
			if isBidiControl(r) && !seen[r] {
				seen[r] = true
				found = append(found, fmt.Sprintf("U+%04X", r))
			}
		}
	}
	scan(name)
	for _, l := range lines {
		scan(l)
	}
	return found
}

func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// humanBytes writes a size exactly, with a rounded binary unit beside it
// when it is large.
func humanBytes(n int64) string {
	s := fmt.Sprintf("%d B", n)
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	f, u := float64(n), ""
	for _, unit := range units {
		if f < 1024 {
			break
		}
		f /= 1024
		u = unit
	}
	if u != "" {
		s += fmt.Sprintf(" (%.1f %s)", f, u)
	}
	return strings.TrimSpace(s)
}

// groupChecks counts checks by name, in the order names first appear.
func groupChecks(checks []pull.Check) []checkGroup {
	var out []checkGroup
	at := map[string]int{}
	for _, c := range checks {
		i, ok := at[c.Check]
		if !ok {
			i = len(out)
			at[c.Check] = i
			out = append(out, checkGroup{Check: c.Check})
		}
		if c.OK {
			out[i].Passed++
		} else {
			out[i].Failed++
		}
	}
	return out
}

// WriteFile renders r into the file at path: written to a temporary file
// in the same directory, synced, then renamed over path, so that a reader
// never sees a partial report. The file is readable by everyone (0644): a
// report holds no credential and no withheld byte.
func WriteFile(path string, r *Report, opts RenderOptions) (err error) {
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("write report %s: not a regular file", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := Render(f, r, opts); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
