package doclinks

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
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

// docFiles lists the Markdown files under root whose links are checked:
// README.md at any depth, and every .md file directly in docs/ and spec/.
// Markdown files elsewhere under testdata/ and spec/vectors/ are components
// of test runs, not documentation. Hidden directories are skipped.
func docFiles(root string) ([]string, error) {
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
	return files, err
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

// checkLinks checks every relative link of files (paths relative to
// root): the file or directory it names exists inside root, and its
// #fragment is a heading anchor of that Markdown file. It returns one
// problem a broken link, as "file:line: ...", and how many links it
// checked; external links (with a scheme or host) are not checked.
func checkLinks(root string, files []string) (problems []string, checked int, err error) {
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
	for _, file := range files {
		doc, err := load(file)
		if err != nil {
			return nil, 0, err
		}
		for _, l := range doc.links {
			bad := func(format string, args ...any) {
				problems = append(problems, fmt.Sprintf("%s:%d: link %q: ", file, l.line, l.dest)+fmt.Sprintf(format, args...))
			}
			u, err := url.Parse(l.dest)
			if err != nil {
				bad("does not parse: %v", err)
				continue
			}
			if u.Scheme != "" || u.Host != "" {
				continue // external: not checked offline
			}
			checked++
			target := file
			if u.Path != "" {
				if strings.HasPrefix(u.Path, "/") {
					bad("absolute; GitHub resolves it against its own host, not the repository")
					continue
				}
				target = path.Clean(path.Join(path.Dir(file), u.Path))
				if target == ".." || strings.HasPrefix(target, "../") {
					bad("leaves the repository")
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
					bad("%s does not exist", target)
					continue
				}
			}
			if u.Fragment == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				bad("a fragment, but %s is not Markdown", target)
				continue
			}
			tdoc, err := load(target)
			if err != nil {
				bad("%v", err)
				continue
			}
			if !tdoc.anchors[u.Fragment] {
				bad("%s has no heading with anchor #%s", target, u.Fragment)
			}
		}
	}
	return problems, checked, nil
}

// TestLinksResolve checks the repository's documentation: every relative
// link resolves.
func TestLinksResolve(t *testing.T) {
	files, err := docFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(files, "README.md") || !slices.Contains(files, "docs/cli.md") || !slices.Contains(files, "spec/SPEC.md") {
		t.Fatalf("documentation files found: %v; the walk of %s is wrong", files, root)
	}
	problems, checked, err := checkLinks(root, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
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

// TestBrokenLinksReported runs the check on a small tree with one link
// of each kind, good and broken, and wants exactly the broken ones, each
// with its file and line.
func TestBrokenLinksReported(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Top\n\n"+
		"Good: [a](#top), [b](docs/guide.md#the-cli-tool), [c](docs/), ![d](docs/img.png), [e](https://example.com/x).\n"+
		"Missing file: [f](docs/nope.md).\n"+
		"| cell |\n|---|\n| missing anchor: [g](docs/guide.md#nowhere) |\n"+
		"\n```sh\n[not a link](nope.md)\n```\n"+
		"Absolute: [h](/docs/guide.md), outside: [i](../x.md), fragment on a non-Markdown file: [j](docs/img.png#x).\n")
	write("docs/guide.md", "# The `cli` tool\n\nBack to the [top](../README.md#top).\n")
	write("docs/img.png", "png")
	write("testdata/notes.md", "[ignored](nope.md)\n")

	files, err := docFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README.md", "docs/guide.md"}; !slices.Equal(files, want) {
		t.Fatalf("files %v, want %v", files, want)
	}
	problems, checked, err := checkLinks(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`README.md:4: link "docs/nope.md": docs/nope.md does not exist`,
		`README.md:7: link "docs/guide.md#nowhere": docs/guide.md has no heading with anchor #nowhere`,
		`README.md:12: link "/docs/guide.md": absolute; GitHub resolves it against its own host, not the repository`,
		`README.md:12: link "../x.md": leaves the repository`,
		`README.md:12: link "docs/img.png#x": a fragment, but docs/img.png is not Markdown`,
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	// a, b, c, d, f, g, h, i, j in README.md and one in docs/guide.md.
	if checked != 10 {
		t.Errorf("checked %d relative links, want 10", checked)
	}
}
