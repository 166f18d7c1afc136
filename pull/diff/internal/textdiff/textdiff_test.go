package textdiff

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// apply rebuilds b from a and an edit script, checking that the script
// covers both sequences in order and that Equal runs really are equal.
func apply(t *testing.T, a, b []string, es []Edit) []string {
	t.Helper()
	var out []string
	x, y := 0, 0
	for _, e := range es {
		if e.A0 != x || e.B0 != y {
			t.Fatalf("edit %+v does not start at (%d, %d)", e, x, y)
		}
		switch e.Op {
		case Equal:
			if e.A1-e.A0 != e.B1-e.B0 {
				t.Fatalf("equal run of unequal lengths: %+v", e)
			}
			for i := range e.A1 - e.A0 {
				if a[e.A0+i] != b[e.B0+i] {
					t.Fatalf("equal run %+v: %q != %q", e, a[e.A0+i], b[e.B0+i])
				}
			}
			out = append(out, a[e.A0:e.A1]...)
		case Delete:
			if e.B0 != e.B1 {
				t.Fatalf("delete run with b lines: %+v", e)
			}
		case Insert:
			if e.A0 != e.A1 {
				t.Fatalf("insert run with a lines: %+v", e)
			}
			out = append(out, b[e.B0:e.B1]...)
		}
		x, y = e.A1, e.B1
	}
	if x != len(a) || y != len(b) {
		t.Fatalf("script ends at (%d, %d), want (%d, %d)", x, y, len(a), len(b))
	}
	return out
}

// patch applies a unified diff (as Unified writes it) to the text a.
func patch(t *testing.T, a, diff string) string {
	t.Helper()
	if diff == "" {
		return a
	}
	src := SplitLines(a)
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		t.Fatalf("no header:\n%s", diff)
	}
	var out []string
	next := 0 // next line of src to copy
	for i := 2; i < len(lines); {
		h := lines[i]
		f := strings.Fields(h)
		if len(f) != 4 || f[0] != "@@" || f[3] != "@@" {
			t.Fatalf("bad hunk header %q", h)
		}
		a0, an := parseRange(t, f[1][1:])
		_, bn := parseRange(t, f[2][1:])
		start := a0 - 1
		if an == 0 {
			start = a0
		}
		out = append(out, src[next:start]...)
		next = start
		gotA, gotB := 0, 0
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "@@"); i++ {
			l := lines[i]
			text := l[1:] + "\n"
			if i+1 < len(lines) && lines[i+1] == `\ No newline at end of file` {
				text = l[1:]
				i++
			}
			switch l[0] {
			case ' ':
				if src[next] != text {
					t.Fatalf("context %q does not match %q", text, src[next])
				}
				out = append(out, text)
				next++
				gotA++
				gotB++
			case '-':
				if src[next] != text {
					t.Fatalf("deleted %q does not match %q", text, src[next])
				}
				next++
				gotA++
			case '+':
				out = append(out, text)
				gotB++
			default:
				t.Fatalf("bad diff line %q", l)
			}
		}
		if gotA != an || gotB != bn {
			t.Fatalf("hunk %q has %d/%d lines", h, gotA, gotB)
		}
	}
	out = append(out, src[next:]...)
	return strings.Join(out, "")
}

func parseRange(t *testing.T, s string) (start, n int) {
	t.Helper()
	n = 1
	a, b, ok := strings.Cut(s, ",")
	start, err := strconv.Atoi(a)
	if err != nil {
		t.Fatalf("bad range %q", s)
	}
	if ok {
		if n, err = strconv.Atoi(b); err != nil {
			t.Fatalf("bad range %q", s)
		}
	}
	return start, n
}

func TestUnified(t *testing.T) {
	tenLines := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	tests := []struct {
		name    string
		a, b    string
		context int
		want    string
	}{
		{name: "equal", a: tenLines, b: tenLines, context: 3, want: ""},
		{name: "both empty", a: "", b: "", context: 3, want: ""},
		{
			name: "two hunks and a missing final newline", a: tenLines,
			b: "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk", context: 3,
			want: "--- a\n+++ b\n@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n@@ -8,3 +8,4 @@\n h\n i\n j\n+k\n\\ No newline at end of file\n",
		},
		{
			name: "from empty", a: "", b: "x\ny\n", context: 3,
			want: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n",
		},
		{
			name: "to empty", a: "x\n", b: "", context: 3,
			want: "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n",
		},
		{
			name: "close changes share a hunk", a: tenLines,
			b: "a\nb\nC\nd\ne\nf\nG\nh\ni\nj\n", context: 2,
			want: "--- a\n+++ b\n@@ -1,9 +1,9 @@\n a\n b\n-c\n+C\n d\n e\n f\n-g\n+G\n h\n i\n",
		},
		{
			name: "no context", a: tenLines, b: "a\nb\nc\nd\nE\nf\ng\nh\ni\nj\n", context: -1,
			want: "--- a\n+++ b\n@@ -5 +5 @@\n-e\n+E\n",
		},
		{
			name: "newline added at end", a: "x\ny", b: "x\ny\n", context: 3,
			want: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n",
		},
		{
			name: "moved block", a: "p\nq\nr\ns\nt\n", b: "s\nt\np\nq\nr\n", context: 0,
			want: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+s\n+t\n@@ -4,2 +5,0 @@\n-s\n-t\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Unified("a", "b", tt.a, tt.b, tt.context)
			if got != tt.want {
				t.Errorf("Unified:\n%s\nwant:\n%s", got, tt.want)
			}
			if p := patch(t, tt.a, got); p != tt.b {
				t.Errorf("patching a with the diff gives %q, want %q", p, tt.b)
			}
		})
	}
}

// TestDiffRandom checks, on random texts over small alphabets (many
// repeated lines, few unique ones), that every script rebuilds b and that
// the unified diff patches a into b.
func TestDiffRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, alphabet := range []int{2, 5, 30, 1000} {
		t.Run(fmt.Sprintf("alphabet %d", alphabet), func(t *testing.T) {
			for range 300 {
				a := randomLines(r, r.IntN(40), alphabet)
				b := mutate(r, a, alphabet)
				es := Diff(a, b)
				if got := apply(t, a, b, es); strings.Join(got, "") != strings.Join(b, "") {
					t.Fatalf("script rebuilds %q, want %q", got, b)
				}
				ta, tb := strings.Join(a, ""), strings.Join(b, "")
				for _, ctx := range []int{0, 1, 3} {
					if p := patch(t, ta, Unified("a", "b", ta, tb, ctx)); p != tb {
						t.Fatalf("context %d: patch gives %q, want %q", ctx, p, tb)
					}
				}
			}
		})
	}
}

// TestMyersMinimal checks that a gap with no anchor line is diffed with a
// minimal number of edits (n + m - 2·LCS).
func TestMyersMinimal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		a := randomLines(r, r.IntN(25), 3)
		b := randomLines(r, r.IntN(25), 3)
		ia, ib := ids(a, b)
		d := &differ{a: ia, b: ib, budget: WorkBudget}
		d.myers(0, len(a), 0, len(b))
		es := edits(d.pairs, len(a), len(b))
		apply(t, a, b, es)
		ins, del := Stat(es)
		if want := len(a) + len(b) - 2*lcs(a, b); ins+del != want {
			t.Fatalf("case %d: %d edits, minimal is %d\na=%q\nb=%q", i, ins+del, want, a, b)
		}
	}
}

// TestAnchorsMatchMovedUniqueLines: unique lines anchor the diff, so an
// edit inside a paragraph of a long prose text stays a small hunk.
func TestAnchorsMatchMovedUniqueLines(t *testing.T) {
	var a []string
	for i := range 200 {
		a = append(a, fmt.Sprintf("sentence %d of the policy.\n", i))
	}
	b := append([]string{}, a...)
	b[100] = "a rewritten sentence.\n"
	b = append(b[:150], b[151:]...)
	ins, del := Stat(Diff(a, b))
	if ins != 1 || del != 2 {
		t.Errorf("Stat = +%d -%d, want +1 -2", ins, del)
	}
}

// TestLargeInputsAreBounded diffs two large texts that share no line and
// two that share every other line: both finish quickly and are correct.
func TestLargeInputsAreBounded(t *testing.T) {
	const n = 100_000
	var a, b, c []string
	for i := range n {
		a = append(a, fmt.Sprintf("a%d\n", i))
		b = append(b, fmt.Sprintf("b%d\n", i))
		if i%2 == 0 {
			c = append(c, a[i])
		} else {
			c = append(c, "}\n")
		}
	}
	for _, tt := range []struct {
		name string
		x, y []string
	}{{"disjoint", a, b}, {"half shared", a, c}, {"repeated line", c, a}} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			es := Diff(tt.x, tt.y)
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("Diff took %v", d)
			}
			apply(t, tt.x, tt.y, es)
		})
	}
}

func TestSplitLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"x", []string{"x"}},
		{"x\n", []string{"x\n"}},
		{"x\n\ny", []string{"x\n", "\n", "y"}},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			got := SplitLines(tt.in)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("SplitLines(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func ExampleUnified() {
	a := "temperature: 0.2\ntop_p: 0.9\nseed: 42\n"
	b := "temperature: 0.7\ntop_p: 0.9\nseed: 42\n"
	fmt.Print(Unified("a/params.yaml", "b/params.yaml", a, b, 3))
	// Output:
	// --- a/params.yaml
	// +++ b/params.yaml
	// @@ -1,3 +1,3 @@
	// -temperature: 0.2
	// +temperature: 0.7
	//  top_p: 0.9
	//  seed: 42
}

func randomLines(r *rand.Rand, n, alphabet int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("l%d\n", r.IntN(alphabet))
	}
	if n > 0 && r.IntN(3) == 0 {
		out[n-1] = strings.TrimSuffix(out[n-1], "\n")
	}
	return out
}

// mutate inserts, deletes and replaces a few lines of a.
func mutate(r *rand.Rand, a []string, alphabet int) []string {
	b := append([]string{}, a...)
	for range r.IntN(6) {
		switch op := r.IntN(3); {
		case op == 0 || len(b) == 0:
			i := r.IntN(len(b) + 1)
			b = append(b[:i], append([]string{fmt.Sprintf("l%d\n", r.IntN(alphabet))}, b[i:]...)...)
		case op == 1:
			i := r.IntN(len(b))
			b = append(b[:i], b[i+1:]...)
		default:
			b[r.IntN(len(b))] = fmt.Sprintf("l%d\n", r.IntN(alphabet))
		}
	}
	// Only the last line may lack its newline.
	for i := 0; i+1 < len(b); i++ {
		if !strings.HasSuffix(b[i], "\n") {
			b[i] += "\n"
		}
	}
	return b
}

// ids interns the lines of a and b into one numbering.
func ids(a, b []string) ([]int, []int) {
	m := map[string]int{}
	conv := func(s []string) []int {
		out := make([]int, len(s))
		for i, l := range s {
			if _, ok := m[l]; !ok {
				m[l] = len(m)
			}
			out[i] = m[l]
		}
		return out
	}
	return conv(a), conv(b)
}

// lcs is the length of a longest common subsequence, by dynamic programming.
func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}
