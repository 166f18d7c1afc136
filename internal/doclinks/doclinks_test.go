package doclinks

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// root is the repository root, relative to this package's directory.
const root = "../.."

// markdown parses as GitHub does for what links need: CommonMark with
// tables (links inside table cells) and autolinks.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// docFiles lists the Markdown files whose links are checked: README.md at
// any depth, and every .md file directly in docs/ and spec/. Markdown files
// elsewhere under testdata/ and spec/vectors/ are components of test runs,
// not documentation.
func docFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(rel, ".md") {
			return nil
		}
		if d.Name() == "README.md" || path.Dir(rel) == "docs" || path.Dir(rel) == "spec" {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// link is one link destination found in a Markdown file.
type link struct {
	dest string
	line int
}

// parsed is a Markdown file's links and the anchors of its headings.
type parsed struct {
	links   []link
	anchors map[string]bool
}

func parse(src []byte) parsed {
	doc := markdown.Parser().Parse(text.NewReader(src))
	p := parsed{anchors: map[string]bool{}}
	seen := map[string]int{}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			// GitHub suffixes a repeated anchor with -1, -2, ...
			slug := slugify(plainText(n, src))
			if k := seen[slug]; k > 0 {
				p.anchors[fmt.Sprintf("%s-%d", slug, k)] = true
			} else {
				p.anchors[slug] = true
			}
			seen[slug]++
		case *ast.Link:
			p.links = append(p.links, link{string(n.Destination), lineOf(n, src)})
		case *ast.Image:
			p.links = append(p.links, link{string(n.Destination), lineOf(n, src)})
		case *ast.HTMLBlock, *ast.RawHTML:
			// Explicit anchors: <a id="x"> or <a name="x">.
			var raw strings.Builder
			lines := n.Lines()
			if r, ok := n.(*ast.RawHTML); ok {
				lines = r.Segments
			}
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				raw.Write(seg.Value(src))
			}
			for _, m := range htmlAnchor.FindAllStringSubmatch(raw.String(), -1) {
				p.anchors[m[1]] = true
			}
		}
		return ast.WalkContinue, nil
	})
	return p
}

var htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)

// plainText is a heading's text as GitHub slugs it: the text of every
// descendant, code spans included, markup left out.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(src))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// slugify is GitHub's heading anchor: lower case, every character but
// letters, digits, marks, spaces, hyphens and underscores dropped, each
// space a hyphen.
func slugify(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lineOf is the 1-based line of a link: that of its first text, or of the
// enclosing block when it has none.
func lineOf(n ast.Node, src []byte) int {
	for c := n; c != nil; c = c.Parent() {
		if t, ok := c.(*ast.Text); ok {
			return 1 + strings.Count(string(src[:t.Segment.Start]), "\n")
		}
		if fc := c.FirstChild(); fc != nil {
			if t, ok := fc.(*ast.Text); ok {
				return 1 + strings.Count(string(src[:t.Segment.Start]), "\n")
			}
		}
		if c.Type() == ast.TypeBlock && c.Lines().Len() > 0 {
			return 1 + strings.Count(string(src[:c.Lines().At(0).Start]), "\n")
		}
	}
	return 0
}

// TestLinksResolve checks every relative link of the documentation: the
// file or directory it names exists, and its #fragment is a heading anchor
// of that Markdown file.
func TestLinksResolve(t *testing.T) {
	files := docFiles(t)
	if len(files) < 3 {
		t.Fatalf("found %d documentation files (%v); the walk of %s is wrong", len(files), files, root)
	}
	cache := map[string]parsed{}
	load := func(rel string) (parsed, error) {
		if p, ok := cache[rel]; ok {
			return p, nil
		}
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return parsed{}, err
		}
		p := parse(src)
		cache[rel] = p
		return p, nil
	}
	checked := 0
	for _, file := range files {
		doc, err := load(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range doc.links {
			u, err := url.Parse(l.dest)
			if err != nil {
				t.Errorf("%s:%d: link %q does not parse: %v", file, l.line, l.dest, err)
				continue
			}
			if u.Scheme != "" || u.Host != "" {
				continue // external: not checked offline
			}
			checked++
			target := file
			if u.Path != "" {
				if strings.HasPrefix(u.Path, "/") {
					t.Errorf("%s:%d: link %q is absolute; GitHub resolves it against its own host, not the repository", file, l.line, l.dest)
					continue
				}
				target = path.Clean(path.Join(path.Dir(file), u.Path))
				if target == ".." || strings.HasPrefix(target, "../") {
					t.Errorf("%s:%d: link %q leaves the repository", file, l.line, l.dest)
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
					t.Errorf("%s:%d: link %q: %s does not exist", file, l.line, l.dest, target)
					continue
				}
			}
			if u.Fragment == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				t.Errorf("%s:%d: link %q has a fragment but %s is not Markdown", file, l.line, l.dest, target)
				continue
			}
			tdoc, err := load(target)
			if err != nil {
				t.Errorf("%s:%d: link %q: %v", file, l.line, l.dest, err)
				continue
			}
			if !tdoc.anchors[u.Fragment] {
				t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", file, l.line, l.dest, target, u.Fragment)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative link was checked; the parser found none")
	}
	t.Logf("%d relative links checked in %d files", checked, len(files))
}

// TestSlugify pins the anchors GitHub gives headings of the kinds the
// documentation uses.
func TestSlugify(t *testing.T) {
	for _, c := range []struct{ heading, want string }{
		{"# Output format: `--format`, `--output`, `-o`", "output-format---format---output--o"},
		{"## `pull` writes a declaration", "pull-writes-a-declaration"},
		{"### 6.5 By hand with generic tools", "65-by-hand-with-generic-tools"},
		{"## From a harness: the Go API", "from-a-harness-the-go-api"},
		{"## The auditor's view", "the-auditors-view"},
		{"## Attestations and AI-BOM", "attestations-and-ai-bom"},
		{"## Appendix C. Changelog", "appendix-c-changelog"},
		{"## *Emphasis* and [a link](x.md)", "emphasis-and-a-link"},
		{"## snake_case § 11.1.1", "snake_case--1111"},
	} {
		p := parse([]byte(c.heading + "\n"))
		if !p.anchors[c.want] || len(p.anchors) != 1 {
			t.Errorf("%q: anchors %v, want only %q", c.heading, p.anchors, c.want)
		}
	}
	p := parse([]byte("# A\n\n## A\n\n### A\n"))
	for _, want := range []string{"a", "a-1", "a-2"} {
		if !p.anchors[want] {
			t.Errorf("repeated headings: anchors %v lack %q", p.anchors, want)
		}
	}
}

// TestBrokenLinksReported makes sure the check finds what it must: a
// missing file and a missing anchor, each with its file and line.
func TestBrokenLinksReported(t *testing.T) {
	src := []byte("# Top\n\nSee [a](#top) and\n[b](#nowhere), ![c](img.png).\n\n| x |\n|---|\n| [d](../d.md#e) |\n")
	p := parse(src)
	got := fmt.Sprint(p.links)
	want := "[{#top 3} {#nowhere 4} {img.png 4} {../d.md#e 8}]"
	if got != want {
		t.Errorf("links %s, want %s", got, want)
	}
	if !p.anchors["top"] || p.anchors["nowhere"] {
		t.Errorf("anchors %v", p.anchors)
	}
}
