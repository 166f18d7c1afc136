package diff_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/diff"
	"github.com/runid/runid-oci/spec"
)

// cmpCopyRagAgent copies the rag-agent example to a temporary directory and
// returns the directory.
func cmpCopyRagAgent(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rag-agent")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(examples, "rag-agent"))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cmpEdit replaces old (which must occur once) with new in the file rel of dir.
func cmpEdit(t testing.TB, dir, rel, old, new string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), old); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want 1", rel, old, n)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func cmpWrite(t testing.TB, dir, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	cmpDecl04      = "    - name: context/04-account-security.md\n      file: context/04-account-security.md\n"
	cmpDecl01      = "    - name: context/01-refund-policy.md\n      file: context/01-refund-policy.md\n"
	cmpDecl02      = "    - name: context/02-shipping-times.md\n      file: context/02-shipping-times.md\n"
	cmpLastMessage = "Ok. Also, I got an email saying someone signed in to my account from another country yesterday. That wasn't me. What should I do?"
)

// cmpAddContext declares one more context file after 04-account-security.md.
func cmpAddContext(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	cmpWrite(t, dir, name, data)
	cmpEdit(t, dir, "runid.yaml", cmpDecl04, cmpDecl04+fmt.Sprintf("    - name: %s\n      file: %s\n", name, name))
}

// cmpWant is a component a comparison must list.
type cmpWant struct {
	role, name, change, kind string
	moved                    bool
	// paths are the path changes, as cmpPath writes them, in order.
	paths []string
	// text are fragments the unified diff must hold.
	text []string
	// note is a fragment the note must hold.
	note     string
	tooLarge bool
}

// cmpCase is a change to a copy of the rag-agent example: base is
// applied to both sides, change to B only.
type cmpCase struct {
	name      string
	base      func(t testing.TB, dir string)
	change    func(t testing.TB, dir string)
	opts      diff.CompareOptions
	want      []cmpWant
	states    map[string][2]string // role → stateA, stateB, for roles whose state differs
	reordered []string
	// registry also runs the case against a registry (the other modes use
	// OCI layouts and declarations, which are cheaper).
	registry bool
}

func cmpPath(p diff.PathChange) string {
	s := p.Path + " " + p.Change
	if p.From != nil {
		s += " " + string(p.From)
	}
	if p.To != nil {
		s += " -> " + string(p.To)
	}
	return s
}

func cmpQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var cmpCases = []cmpCase{
	{name: "identical"},
	{
		name:     "temperature",
		registry: true,
		change:   func(t testing.TB, dir string) { cmpEdit(t, dir, "runid.yaml", "temperature: 0.2", "temperature: 0.7") },
		want: []cmpWant{{role: "parameters", name: "parameters.json", change: "changed", kind: "structured",
			paths: []string{"parameters.temperature changed 0.2 -> 0.7"}}},
	},
	{
		name:     "context document changed",
		registry: true,
		change: func(t testing.TB, dir string) {
			cmpEdit(t, dir, "context/03-warranty.md", "_Last updated: 2024-05-30 · Article KB-1113_", "_Last updated: 2024-11-02 · Article KB-1113_")
		},
		want: []cmpWant{{role: "context", name: "context/03-warranty.md", change: "changed", kind: "text",
			text: []string{"--- a/context/03-warranty.md\n+++ b/context/03-warranty.md\n@@ -1,6 +1,6 @@\n # Northwind Lifetime Warranty\n \n-_Last updated: 2024-05-30",
				"\n+_Last updated: 2024-11-02 · Article KB-1113_\n"}}},
	},
	{
		name: "context document added",
		change: func(t testing.TB, dir string) {
			cmpAddContext(t, dir, "context/05-returns-faq.md", []byte("# Returns FAQ\n"))
		},
		want: []cmpWant{{role: "context", name: "context/05-returns-faq.md", change: "added", kind: "text"}},
	},
	{
		name:   "context document removed",
		change: func(t testing.TB, dir string) { cmpEdit(t, dir, "runid.yaml", cmpDecl04, "") },
		want:   []cmpWant{{role: "context", name: "context/04-account-security.md", change: "removed", kind: "text"}},
	},
	{
		name:     "context documents reordered",
		registry: true,
		change: func(t testing.TB, dir string) {
			cmpEdit(t, dir, "runid.yaml", cmpDecl01+cmpDecl02, cmpDecl02+cmpDecl01)
		},
		want:      []cmpWant{{role: "context", name: "context/01-refund-policy.md", change: "moved", kind: "text"}},
		reordered: []string{"context"},
	},
	{
		name: "tool parameter added",
		change: func(t testing.TB, dir string) {
			cmpEdit(t, dir, "tools/search_knowledge_base.json", `"properties": {`, `"properties": {
        "k": {"type": "integer", "description": "Passages to rerank."},`)
		},
		want: []cmpWant{{role: "tools", name: "tools/search_knowledge_base.json", change: "changed", kind: "structured",
			paths: []string{`tools[search_knowledge_base].function.parameters.properties.k added -> {"description":"Passages to rerank.","type":"integer"}`}}},
	},
	{
		name: "system prompt line changed",
		change: func(t testing.TB, dir string) {
			cmpEdit(t, dir, "prompts/system.md", "Do not apologise more than once per conversation.", "Never apologise.")
		},
		want: []cmpWant{{role: "system-prompt", name: "system-prompt/support-agent.md", change: "changed", kind: "text",
			text: []string{"-- Be warm and direct. Do not apologise more than once per conversation.\n+- Be warm and direct. Never apologise.\n"}}},
	},
	{
		name:     "binary component changed",
		registry: true,
		base: func(t testing.TB, dir string) {
			cmpAddContext(t, dir, "context/05-diagram.bin", []byte{0, 1, 2, 0xff, 0xfe})
		},
		change: func(t testing.TB, dir string) {
			cmpWrite(t, dir, "context/05-diagram.bin", []byte{0, 1, 2, 3, 0xff, 0xfe})
		},
		want: []cmpWant{{role: "context", name: "context/05-diagram.bin", change: "changed", kind: "binary"}},
	},
	{
		name:     "YAML config key changed",
		registry: true,
		change:   func(t testing.TB, dir string) { cmpEdit(t, dir, "config/agent.yaml", "top_k: 20", "top_k: 30") },
		want: []cmpWant{{role: "config", name: "config/agent.yaml", change: "changed", kind: "structured",
			paths: []string{"config.retriever.top_k changed 20 -> 30"}}},
	},
	{
		name: "message changed",
		change: func(t testing.TB, dir string) {
			cmpEdit(t, dir, "input/messages.json", "yesterday. That wasn't me.", "today. That wasn't me.")
		},
		want: []cmpWant{{role: "input", name: "input/conversation.json", change: "changed", kind: "structured",
			paths: []string{"input[4].content changed " + cmpQuote(cmpLastMessage) + " -> " +
				cmpQuote(strings.Replace(cmpLastMessage, "yesterday", "today", 1))}}},
	},
	{
		name: "tools declared none",
		change: func(t testing.TB, dir string) {
			cmpEdit(t, dir, "runid.yaml", `  tools:
    - name: tools/search_knowledge_base.json
      file: tools/search_knowledge_base.json
    - name: tools/create_ticket.json
      file: tools/create_ticket.json
`, "  tools: none\n")
		},
		want: []cmpWant{
			{role: "tools", name: "tools/search_knowledge_base.json", change: "removed", kind: "structured"},
			{role: "tools", name: "tools/create_ticket.json", change: "removed", kind: "structured"},
		},
		states: map[string][2]string{"tools": {"present", "none"}},
	},
	{
		name: "too large to diff",
		opts: diff.CompareOptions{MaxDiffSize: 1024},
		change: func(t testing.TB, dir string) {
			cmpEdit(t, dir, "context/03-warranty.md", "Article KB-1113", "Article KB-1114")
		},
		want: []cmpWant{{role: "context", name: "context/03-warranty.md", change: "changed", kind: "text",
			tooLarge: true, note: "too large to diff"}},
	},
	{
		name: "YAML config comment changed",
		change: func(t testing.TB, dir string) {
			cmpEdit(t, dir, "config/agent.yaml", "# Agent configuration for the Northwind support agent.", "# Agent configuration (reviewed).")
		},
		want: []cmpWant{{role: "config", name: "config/agent.yaml", change: "changed", kind: "text", note: "same values, other text",
			text: []string{"-# Agent configuration for the Northwind support agent.\n+# Agent configuration (reviewed).\n"}}},
	},
	{
		name: "YAML config rewritten as JSON",
		change: func(t testing.TB, dir string) {
			y, err := os.ReadFile(filepath.Join(dir, "config/agent.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			j, err := yaml.YAMLToJSON(y)
			if err != nil {
				t.Fatal(err)
			}
			cmpWrite(t, dir, "config/agent.json", j)
			cmpEdit(t, dir, "runid.yaml", "      file: config/agent.yaml\n", "      file: config/agent.json\n      format: json\n")
		},
		want: []cmpWant{{role: "config", name: "config/agent.yaml", change: "changed", kind: "structured",
			note: "media type application/vnd.runid.config.v1+yaml -> application/vnd.runid.config.v1+json; same values"}},
	},
	{
		name: "moved and changed",
		change: func(t testing.TB, dir string) {
			cmpEdit(t, dir, "runid.yaml", cmpDecl01+cmpDecl02, cmpDecl02+cmpDecl01)
			cmpEdit(t, dir, "context/01-refund-policy.md", "**30 days of delivery**", "**45 days of delivery**")
		},
		want: []cmpWant{{role: "context", name: "context/01-refund-policy.md", change: "changed", kind: "text", moved: true,
			text: []string{"45 days"}}},
		reordered: []string{"context"},
	},
}

// sides are the ways a comparison's two sides are given.
type cmpSideMode struct {
	name     string
	registry bool
	// sides returns the sides for the declarations in dirA and dirB.
	sides func(t *testing.T, dirA, dirB string) (diff.Side, diff.Side)
	kinds [2]string
}

// cmpPush builds the declaration in dir and pushes it to target as tag.
func cmpPush(t testing.TB, target oras.Target, dir, tag string) *pack.Composition {
	t.Helper()
	c, err := pack.Load(t.Context(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.Push(t.Context(), target, c, pack.PushOptions{Tag: tag}); err != nil {
		t.Fatal(err)
	}
	return c
}

func cmpSideModes(t *testing.T) []cmpSideMode {
	reg := testregistry.StartDistribution(t)
	n := 0
	return []cmpSideMode{
		{name: "declaration-declaration", kinds: [2]string{"declaration", "declaration"},
			sides: func(t *testing.T, a, b string) (diff.Side, diff.Side) {
				return diff.DeclarationSide(filepath.Join(a, "runid.yaml")), diff.DeclarationSide(filepath.Join(b, "runid.yaml"))
			}},
		{name: "identity-identity layout", kinds: [2]string{"identity", "identity"},
			sides: func(t *testing.T, a, b string) (diff.Side, diff.Side) {
				s, _ := testutil.NewLayout(t)
				cmpPush(t, s, a, "a")
				cmpPush(t, s, b, "b")
				return diff.IdentitySide(s, "a"), diff.IdentitySide(s, "b")
			}},
		{name: "identity-identity registry", registry: true, kinds: [2]string{"identity", "identity"},
			sides: func(t *testing.T, a, b string) (diff.Side, diff.Side) {
				n++
				repo := testregistry.Repository(t, reg, fmt.Sprintf("runs/%d", n))
				cmpPush(t, repo, a, "a")
				cmpPush(t, repo, b, "b")
				return diff.IdentitySide(repo, "a"), diff.IdentitySide(repo, "b")
			}},
		{name: "identity-declaration", kinds: [2]string{"identity", "declaration"},
			sides: func(t *testing.T, a, b string) (diff.Side, diff.Side) {
				s, _ := testutil.NewLayout(t)
				cmpPush(t, s, a, "a")
				return diff.IdentitySide(s, "a"), diff.DeclarationSide(filepath.Join(b, "runid.yaml"))
			}},
		{name: "declaration-identity two layouts", kinds: [2]string{"declaration", "identity"},
			sides: func(t *testing.T, a, b string) (diff.Side, diff.Side) {
				s, _ := testutil.NewLayout(t)
				cmpPush(t, s, b, "b")
				return diff.DeclarationSide(filepath.Join(a, "runid.yaml")), diff.IdentitySide(s, "b")
			}},
	}
}

func TestCompare(t *testing.T) {
	modes := cmpSideModes(t)
	for _, tc := range cmpCases {
		t.Run(tc.name, func(t *testing.T) {
			dirA, dirB := cmpCopyRagAgent(t), cmpCopyRagAgent(t)
			if tc.base != nil {
				tc.base(t, dirA)
				tc.base(t, dirB)
			}
			if tc.change != nil {
				tc.change(t, dirB)
			}
			digestA := cmpDigest(t, dirA)
			digestB := cmpDigest(t, dirB)
			var first []byte
			for _, m := range modes {
				if m.registry && !tc.registry {
					continue
				}
				t.Run(m.name, func(t *testing.T) {
					a, b := m.sides(t, dirA, dirB)
					cmp, err := diff.Compare(t.Context(), a, b, tc.opts)
					if err != nil {
						t.Fatalf("Compare: %v", err)
					}
					cmpCheck(t, tc, cmp)
					if cmp.A.Digest != digestA || cmp.B.Digest != digestB {
						t.Errorf("digests %s, %s; want %s, %s", cmp.A.Digest, cmp.B.Digest, digestA, digestB)
					}
					if cmp.A.Kind != m.kinds[0] || cmp.B.Kind != m.kinds[1] {
						t.Errorf("kinds %s, %s; want %v", cmp.A.Kind, cmp.B.Kind, m.kinds)
					}
					// Every way of giving the sides finds the same differences.
					roles, err := json.Marshal(cmp.Roles)
					if err != nil {
						t.Fatal(err)
					}
					if first == nil {
						first = roles
					} else if !bytes.Equal(first, roles) {
						t.Errorf("roles differ from the first mode's:\n%s\nfirst:\n%s", roles, first)
					}
				})
			}
		})
	}
}

func cmpDigest(t testing.TB, dir string) digest.Digest {
	t.Helper()
	d, err := pack.Digest(t.Context(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// cmpCheck checks cmp against what tc expects.
func cmpCheck(t *testing.T, tc cmpCase, cmp *diff.Comparison) {
	t.Helper()
	if cmp.Identical != (len(tc.want) == 0 && len(tc.states) == 0) {
		t.Errorf("Identical = %v", cmp.Identical)
	}
	if cmp.Identical != (cmp.A.Digest == cmp.B.Digest) {
		t.Errorf("Identical = %v with digests %s and %s", cmp.Identical, cmp.A.Digest, cmp.B.Digest)
	}
	var got []string
	byKey := map[string]diff.ComponentDiff{}
	for _, r := range cmp.Roles {
		if st, ok := tc.states[r.Role]; ok {
			if r.StateA != st[0] || r.StateB != st[1] {
				t.Errorf("role %s states %s, %s; want %v", r.Role, r.StateA, r.StateB, st)
			}
		} else if r.StateA != r.StateB {
			t.Errorf("role %s states %s, %s; want equal", r.Role, r.StateA, r.StateB)
		}
		if r.Reordered != slices.Contains(tc.reordered, r.Role) {
			t.Errorf("role %s reordered = %v", r.Role, r.Reordered)
		}
		if len(r.Components) == 0 && r.StateA == r.StateB {
			t.Errorf("role %s listed with no difference", r.Role)
		}
		for _, c := range r.Components {
			k := fmt.Sprintf("%s %s %s %s", r.Role, c.Name, c.Change, c.Kind)
			got = append(got, k)
			byKey[k] = c
		}
	}
	var want []string
	for _, w := range tc.want {
		want = append(want, fmt.Sprintf("%s %s %s %s", w.role, w.name, w.change, w.kind))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("components:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range tc.want {
		c := byKey[fmt.Sprintf("%s %s %s %s", w.role, w.name, w.change, w.kind)]
		t.Run(w.name, func(t *testing.T) { cmpCheckComponent(t, w, c) })
	}
}

func cmpCheckComponent(t *testing.T, w cmpWant, c diff.ComponentDiff) {
	if c.Moved != w.moved {
		t.Errorf("moved = %v, want %v", c.Moved, w.moved)
	}
	if (c.A == nil) != (w.change == "added") || (c.B == nil) != (w.change == "removed") {
		t.Errorf("sides a=%v b=%v for a %s component", c.A, c.B, w.change)
	}
	if c.A != nil && c.B != nil {
		same := c.A.Digest == c.B.Digest && c.A.MediaType == c.B.MediaType
		if same != (w.change == "moved" || w.change == "unchanged") {
			t.Errorf("%s component with digests %s, %s", w.change, c.A.Digest, c.B.Digest)
		}
		if w.change == "moved" && c.A.Index == c.B.Index {
			t.Errorf("moved component keeps index %d", c.A.Index)
		}
	}
	var paths []string
	for _, p := range c.Paths {
		paths = append(paths, cmpPath(p))
	}
	if !slices.Equal(paths, w.paths) {
		t.Errorf("paths:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(w.paths, "\n"))
	}
	for _, f := range w.text {
		if !strings.Contains(c.TextDiff, f) {
			t.Errorf("text diff lacks %q:\n%s", f, c.TextDiff)
		}
	}
	if c.Kind == "text" && w.change == "changed" && !w.tooLarge {
		if c.TextDiff == "" || c.LinesAdded == 0 || c.LinesRemoved == 0 {
			t.Errorf("changed text component: diff %q, +%d -%d", c.TextDiff, c.LinesAdded, c.LinesRemoved)
		}
		if added, removed := cmpDiffLines(c.TextDiff); added != c.LinesAdded || removed != c.LinesRemoved {
			t.Errorf("line counts +%d -%d do not match the diff:\n%s", c.LinesAdded, c.LinesRemoved, c.TextDiff)
		}
	}
	if c.TooLarge != w.tooLarge || (w.tooLarge && (c.TextDiff != "" || c.Paths != nil)) {
		t.Errorf("tooLarge = %v, diff %q, paths %v", c.TooLarge, c.TextDiff, c.Paths)
	}
	if !strings.Contains(c.Note, w.note) {
		t.Errorf("note %q lacks %q", c.Note, w.note)
	}
}

// cmpDiffLines counts the added and removed lines of a unified diff.
func cmpDiffLines(diff string) (added, removed int) {
	for _, l := range strings.Split(diff, "\n") {
		switch {
		case strings.HasPrefix(l, "+++ "), strings.HasPrefix(l, "--- "):
		case strings.HasPrefix(l, "+"):
			added++
		case strings.HasPrefix(l, "-"):
			removed++
		}
	}
	return added, removed
}

// cmpCountingTarget counts the fetches of each digest through a real store.
type cmpCountingTarget struct {
	oras.ReadOnlyTarget
	mu      sync.Mutex
	fetches map[digest.Digest]int
}

func newCmpCounting(s oras.ReadOnlyTarget) *cmpCountingTarget {
	return &cmpCountingTarget{ReadOnlyTarget: s, fetches: map[digest.Digest]int{}}
}

func (c *cmpCountingTarget) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	c.mu.Lock()
	c.fetches[desc.Digest]++
	c.mu.Unlock()
	return c.ReadOnlyTarget.Fetch(ctx, desc)
}

// cmpLayerDigests is the set of component digests of the compositions.
func cmpLayerDigests(cs ...*pack.Composition) map[digest.Digest]bool {
	out := map[digest.Digest]bool{}
	for _, c := range cs {
		for _, l := range c.Identity.Manifest.Layers {
			out[l.Digest] = true
		}
	}
	return out
}

// TestCompareReadsEachBlobOnce swaps the contents of two context documents
// (so each content is needed for both sides) and changes a third: every
// component blob is fetched exactly once per store, verification included,
// and once in all when both identities are in one store.
func TestCompareReadsEachBlobOnce(t *testing.T) {
	dirA, dirB := cmpCopyRagAgent(t), cmpCopyRagAgent(t)
	one, err := os.ReadFile(filepath.Join(dirA, "context/01-refund-policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	two, err := os.ReadFile(filepath.Join(dirA, "context/02-shipping-times.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmpWrite(t, dirB, "context/01-refund-policy.md", two)
	cmpWrite(t, dirB, "context/02-shipping-times.md", one)
	cmpEdit(t, dirB, "prompts/system.md", "Be warm and direct.", "Be warm, direct and brief.")

	check := func(t *testing.T, ct *cmpCountingTarget, want map[digest.Digest]bool) {
		t.Helper()
		for d := range want {
			if n := ct.fetches[d]; n != 1 {
				t.Errorf("blob %s fetched %d times, want 1", d, n)
			}
		}
	}
	checkDiff := func(t *testing.T, cmp *diff.Comparison) {
		t.Helper()
		var changed []string
		for _, r := range cmp.Roles {
			for _, c := range r.Components {
				if c.TextDiff == "" {
					t.Errorf("%s: no text diff", c.Name)
				}
				changed = append(changed, c.Name)
			}
		}
		want := []string{"system-prompt/support-agent.md", "context/01-refund-policy.md", "context/02-shipping-times.md"}
		if !slices.Equal(changed, want) {
			t.Errorf("changed %v, want %v", changed, want)
		}
	}

	t.Run("one store", func(t *testing.T) {
		s, _ := testutil.NewLayout(t)
		ca, cb := cmpPush(t, s, dirA, "a"), cmpPush(t, s, dirB, "b")
		ct := newCmpCounting(s)
		cmp, err := diff.Compare(t.Context(), diff.IdentitySide(ct, "a"), diff.IdentitySide(ct, "b"), diff.CompareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkDiff(t, cmp)
		check(t, ct, cmpLayerDigests(ca, cb))
	})
	t.Run("two stores", func(t *testing.T) {
		sa, _ := testutil.NewLayout(t)
		sb, _ := testutil.NewLayout(t)
		ca, cb := cmpPush(t, sa, dirA, "a"), cmpPush(t, sb, dirB, "b")
		cta, ctb := newCmpCounting(sa), newCmpCounting(sb)
		cmp, err := diff.Compare(t.Context(), diff.IdentitySide(cta, "a"), diff.IdentitySide(ctb, "b"), diff.CompareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkDiff(t, cmp)
		check(t, cta, cmpLayerDigests(ca))
		check(t, ctb, cmpLayerDigests(cb))
	})
}

// TestCompareSideDoesNotVerify tampers with a blob of B: Compare fails with
// a *SideError for B that wraps a *VerificationError.
func TestCompareSideDoesNotVerify(t *testing.T) {
	dir := cmpCopyRagAgent(t)
	s, _ := testutil.NewLayout(t)
	c := cmpPush(t, s, dir, "a")
	sb, layoutB := testutil.NewLayout(t)
	cmpPush(t, sb, dir, "b")
	victim := c.Components[4]
	testutil.TamperBlob(t, layoutB, victim.Digest)

	tests := []struct {
		name string
		a, b diff.Side
		side string
	}{
		{name: "B tampered", a: diff.IdentitySide(s, "a"), b: diff.IdentitySide(sb, "b"), side: "B"},
		{name: "A tampered", a: diff.IdentitySide(sb, "b"), b: diff.DeclarationSide(filepath.Join(dir, "runid.yaml")), side: "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmp, err := diff.Compare(t.Context(), tt.a, tt.b, diff.CompareOptions{})
			if cmp != nil {
				t.Errorf("comparison returned with a side that does not verify")
			}
			var se *diff.SideError
			if !errors.As(err, &se) || se.Side != tt.side {
				t.Fatalf("error = %v, want a *diff.SideError for %s", err, tt.side)
			}
			ve := testutil.WantVerificationError(t, err, "blob-digest")
			if ve.Problems[0].Subject != victim.Name {
				t.Errorf("problem %+v does not name %s", ve.Problems[0], victim.Name)
			}
		})
	}
}

func TestCompareErrors(t *testing.T) {
	s, _ := testutil.NewLayout(t)
	decl := filepath.Join(examples, "minimal", "runid.yaml")
	tests := []struct {
		name   string
		a, b   diff.Side
		side   string
		target error
	}{
		{name: "empty side", a: diff.Side{}, b: diff.DeclarationSide(decl), side: "A", target: diff.ErrInvalidSide},
		{name: "both store and declaration", a: diff.DeclarationSide(decl), b: diff.Side{Store: s, Reference: "x", Declaration: decl}, side: "B", target: diff.ErrInvalidSide},
		{name: "unknown tag", a: diff.DeclarationSide(decl), b: diff.IdentitySide(s, "nope"), side: "B", target: pull.ErrNotFound},
		{name: "missing declaration", a: diff.DeclarationSide(filepath.Join(t.TempDir(), "runid.yaml")), b: diff.DeclarationSide(decl), side: "A", target: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := diff.Compare(t.Context(), tt.a, tt.b, diff.CompareOptions{})
			var se *diff.SideError
			if !errors.As(err, &se) || se.Side != tt.side {
				t.Fatalf("error = %v, want a *diff.SideError for %s", err, tt.side)
			}
			if !errors.Is(err, tt.target) {
				t.Errorf("error %v does not wrap %v", err, tt.target)
			}
			if errors.Is(err, pull.ErrVerification) {
				t.Errorf("error %v wraps ErrVerification", err)
			}
		})
	}
}

// cmpWithheldIdentity pushes to target, as tag, the rag-agent identity with
// the component name replaced by a commitment to content under secret.
func cmpWithheldIdentity(t testing.TB, target oras.Target, dir, name string, content []byte, secret string, tag string) {
	t.Helper()
	c, err := pack.Load(t.Context(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.Push(t.Context(), target, c, pack.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	var roles []string
	for r := range c.Identity.Document.Roles {
		roles = append(roles, r)
	}
	entries := slices.Clone(c.Identity.Document.Components)
	found := false
	for i, e := range entries {
		if e.Name != name {
			continue
		}
		found = true
		salt, err := spec.WithholdSalt([]byte(secret), digest.FromBytes(content))
		if err != nil {
			t.Fatal(err)
		}
		h := spec.CommitmentHash(salt)
		h.Write(content)
		doc, err := spec.NewCommitment(e.MediaType, h.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		entries[i].MediaType, entries[i].Digest, entries[i].Size = mediatype.Withheld, digest.FromBytes(doc), int64(len(doc))
		cmpPushBlob(t, target, mediatype.Withheld, doc)
	}
	if !found {
		t.Fatalf("no component %s", name)
	}
	id, err := spec.BuildIdentity(roles, entries)
	if err != nil {
		t.Fatal(err)
	}
	cmpPushBlob(t, target, mediatype.IdentityDocument, id.DocumentBytes)
	desc := id.Descriptor()
	if err := target.Push(t.Context(), desc, bytes.NewReader(id.ManifestBytes)); err != nil && !strings.Contains(err.Error(), "exists") {
		t.Fatal(err)
	}
	if err := target.Tag(t.Context(), desc, tag); err != nil {
		t.Fatal(err)
	}
}

func cmpPushBlob(t testing.TB, target oras.Target, mt string, data []byte) {
	t.Helper()
	desc := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if ok, err := target.Exists(t.Context(), desc); err != nil {
		t.Fatal(err)
	} else if ok {
		return
	}
	if err := target.Push(t.Context(), desc, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// TestCompareWithheld compares identities whose system prompt is withheld:
// unchanged only when the commitments are the same, never looked inside.
func TestCompareWithheld(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef-secret"
	const name = "system-prompt/support-agent.md"
	dir := cmpCopyRagAgent(t)
	prompt, err := os.ReadFile(filepath.Join(dir, "prompts/system.md"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := testutil.NewLayout(t)
	cmpWithheldIdentity(t, s, dir, name, prompt, secret, "withheld")
	cmpWithheldIdentity(t, s, dir, name, prompt, secret, "withheld-again")
	cmpWithheldIdentity(t, s, dir, name, append(slices.Clone(prompt), "\nBe brief.\n"...), secret, "withheld-other")
	cmpPush(t, s, dir, "disclosed")

	tests := []struct {
		name   string
		a, b   string
		all    bool
		change string // "" when the component must not be listed
		note   string
	}{
		{name: "same commitment", a: "withheld", b: "withheld-again", all: true, change: "unchanged", note: "commitments match, content not visible"},
		{name: "same commitment, differences only", a: "withheld", b: "withheld-again"},
		{name: "other content", a: "withheld", b: "withheld-other", change: "changed", note: "commitments differ, cannot look inside"},
		{name: "withheld then disclosed", a: "withheld", b: "disclosed", change: "changed", note: "withheld in A, disclosed in B"},
		{name: "disclosed then withheld", a: "disclosed", b: "withheld", change: "changed", note: "disclosed in A, withheld in B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmp, err := diff.Compare(t.Context(), diff.IdentitySide(s, tt.a), diff.IdentitySide(s, tt.b), diff.CompareOptions{All: tt.all})
			if err != nil {
				t.Fatal(err)
			}
			var got *diff.ComponentDiff
			for _, r := range cmp.Roles {
				for i, c := range r.Components {
					if c.Name == name {
						got = &r.Components[i]
					} else if c.Change != "unchanged" {
						t.Errorf("%s listed as %s", c.Name, c.Change)
					}
				}
			}
			if tt.change == "" {
				if got != nil || !cmp.Identical || len(cmp.Roles) != 0 {
					t.Errorf("identical=%v roles=%+v, want identical and nothing listed", cmp.Identical, cmp.Roles)
				}
				return
			}
			if got == nil {
				t.Fatalf("%s not listed: %+v", name, cmp.Roles)
			}
			if got.Change != tt.change || got.Kind != "withheld" || !strings.Contains(got.Note, tt.note) {
				t.Errorf("got %s/%s note %q; want %s/withheld note %q", got.Change, got.Kind, got.Note, tt.change, tt.note)
			}
			if got.TextDiff != "" || got.Paths != nil {
				t.Errorf("looked inside a withheld component: %+v", got)
			}
			if strings.Contains(string(cmpJSON(t, cmp)), "Be brief") {
				t.Errorf("withheld content leaked into the comparison")
			}
		})
	}
}

func cmpJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ExampleCompare compares two declarations that differ in one parameter
// and one line of the system prompt.
func ExampleCompare() {
	root, err := os.MkdirTemp("", "runid-compare")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	write := func(dir, temperature, prompt string) string {
		decl := `runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: {temperature: ` + temperature + `, max_tokens: 256}
  system-prompt:
    - name: system.txt
      text: "` + prompt + `"
  tools: none
  context: none
  input:
    - name: question.txt
      text: "What is the capital of France?"
  config: none
  runtime: {sdk: {name: openai, version: "1.54.3"}}
`
		p := filepath.Join(root, dir, "runid.yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			panic(err)
		}
		if err := os.WriteFile(p, []byte(decl), 0o644); err != nil {
			panic(err)
		}
		return p
	}
	a := write("a", "0.2", "Answer briefly.\\n")
	b := write("b", "0.7", "Answer briefly, in French.\\n")

	cmp, err := diff.Compare(context.Background(), diff.DeclarationSide(a), diff.DeclarationSide(b), diff.CompareOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println("identical:", cmp.Identical)
	for _, r := range cmp.Roles {
		for _, c := range r.Components {
			fmt.Printf("%s %s (%s)\n", c.Change, c.Name, c.Kind)
			for _, p := range c.Paths {
				fmt.Printf("  %s: %s -> %s\n", p.Path, p.From, p.To)
			}
			fmt.Print(c.TextDiff)
		}
	}
	// Output:
	// identical: false
	// changed parameters.json (structured)
	//   parameters.temperature: 0.2 -> 0.7
	// changed system.txt (text)
	// --- a/system.txt
	// +++ b/system.txt
	// @@ -1 +1 @@
	// -Answer briefly.
	// +Answer briefly, in French.
}

// TestCompareWithheldDeclaration compares a declaration that withholds its
// system prompt with the identity pushed from it and with other
// declarations: by commitment only.
func TestCompareWithheldDeclaration(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-secret")
	const name = "system-prompt/support-agent.md"
	withhold := func(t testing.TB, dir string) {
		cmpEdit(t, dir, "runid.yaml", "      file: prompts/system.md\n", "      file: prompts/system.md\n      withheld: true\n")
	}
	plain, withheld, other := cmpCopyRagAgent(t), cmpCopyRagAgent(t), cmpCopyRagAgent(t)
	withhold(t, withheld)
	withhold(t, other)
	cmpEdit(t, other, "prompts/system.md", "Be warm and direct.", "Be brief.")
	decl := func(dir string) diff.Side { return diff.DeclarationSide(filepath.Join(dir, "runid.yaml")) }

	s, _ := testutil.NewLayout(t)
	c, err := pack.Load(t.Context(), filepath.Join(withheld, "runid.yaml"), pack.BuildOptions{WithholdSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.Push(t.Context(), s, c, pack.PushOptions{Tag: "w"}); err != nil {
		t.Fatal(err)
	}
	opts := diff.CompareOptions{Build: pack.BuildOptions{WithholdSecret: secret}}

	tests := []struct {
		name   string
		a, b   diff.Side
		change string // "" for identical
		note   string
	}{
		{name: "identity and its declaration", a: diff.IdentitySide(s, "w"), b: decl(withheld)},
		{name: "other content", a: decl(withheld), b: decl(other), change: "changed", note: "withheld: commitments differ, cannot look inside"},
		{name: "disclosed and withheld", a: decl(plain), b: diff.IdentitySide(s, "w"), change: "changed", note: "disclosed in A, withheld in B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmp, err := diff.Compare(t.Context(), tt.a, tt.b, opts)
			if err != nil {
				t.Fatal(err)
			}
			if tt.change == "" {
				if !cmp.Identical || len(cmp.Roles) != 0 {
					t.Errorf("identical=%v roles=%+v", cmp.Identical, cmp.Roles)
				}
				return
			}
			if len(cmp.Roles) != 1 || len(cmp.Roles[0].Components) != 1 {
				t.Fatalf("roles %+v, want only the system prompt", cmp.Roles)
			}
			got := cmp.Roles[0].Components[0]
			if got.Name != name || got.Change != tt.change || got.Kind != "withheld" || !strings.Contains(got.Note, tt.note) {
				t.Errorf("got %s %s/%s note %q; want %s/withheld note %q", got.Name, got.Change, got.Kind, got.Note, tt.change, tt.note)
			}
			if got.TextDiff != "" || got.Paths != nil || strings.Contains(string(cmpJSON(t, cmp)), "Be brief") {
				t.Errorf("looked inside a withheld component: %+v", got)
			}
		})
	}

	t.Run("no secret", func(t *testing.T) {
		_, err := diff.Compare(t.Context(), decl(plain), decl(withheld), diff.CompareOptions{})
		var se *diff.SideError
		if !errors.As(err, &se) || se.Side != "B" || !errors.Is(err, pack.ErrNoWithholdSecret) {
			t.Errorf("error = %v, want a *diff.SideError for B wrapping pack.ErrNoWithholdSecret", err)
		}
	})
}
