// Package textdiff computes line diffs and renders them as unified diffs.
//
// The algorithm is patience-style: common leading and trailing lines are
// stripped, lines that occur exactly once on each side are matched in their
// longest common order and anchor the comparison, and the gaps between
// anchors are diffed recursively. A gap with no such line is diffed with
// Myers' algorithm up to MaxEditDistance edits, and replaced as a whole
// beyond it. The total work is bounded (WorkBudget), so any input diffs in
// time close to linear in its size; past the budget the diff stays correct
// but may be coarser than minimal.
package textdiff

import (
	"fmt"
	"sort"
	"strings"
)

// MaxEditDistance bounds the Myers search in a gap without anchor lines:
// a gap that needs more edits is replaced as a whole.
const MaxEditDistance = 1000

// WorkBudget bounds the lines examined by one Diff across all recursion
// levels; once spent, remaining gaps are replaced as a whole.
const WorkBudget = 1 << 25

// Op is the kind of an Edit.
type Op int

// Edit kinds.
const (
	// Equal: A[A0:A1] equals B[B0:B1].
	Equal Op = iota
	// Delete: A[A0:A1] is removed (B0 == B1).
	Delete
	// Insert: B[B0:B1] is inserted (A0 == A1).
	Insert
)

// String returns the name of the kind.
func (o Op) String() string {
	switch o {
	case Equal:
		return "equal"
	case Delete:
		return "delete"
	case Insert:
		return "insert"
	}
	return "unknown"
}

// Edit is one run of an edit script: the half-open line ranges [A0, A1) of
// a and [B0, B1) of b.
type Edit struct {
	Op             Op
	A0, A1, B0, B1 int
}

// Diff returns an edit script that turns a into b: runs of Equal, Delete and
// Insert in order, covering both sequences; a Delete run comes before the
// Insert run it pairs with. Equal inputs give one Equal run (none if both
// are empty).
func Diff(a, b []string) []Edit {
	ids := map[string]int{}
	intern := func(s []string) []int {
		out := make([]int, len(s))
		for i, l := range s {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	d := &differ{a: intern(a), b: intern(b), budget: WorkBudget}
	d.countA = make([]int32, len(ids))
	d.countB = make([]int32, len(ids))
	d.posA = make([]int, len(ids))
	d.posB = make([]int, len(ids))
	d.match(0, len(a), 0, len(b))
	return edits(d.pairs, len(a), len(b))
}

// pair is one matched line: a[x] == b[y].
type pair struct{ x, y int }

type differ struct {
	a, b           []int
	pairs          []pair // in increasing order of x and y
	budget         int
	countA, countB []int32
	posA, posB     []int
}

// match appends the matched lines of a[a0:a1] and b[b0:b1] to d.pairs.
func (d *differ) match(a0, a1, b0, b1 int) {
	for a0 < a1 && b0 < b1 && d.a[a0] == d.b[b0] {
		d.pairs = append(d.pairs, pair{a0, b0})
		a0++
		b0++
	}
	var tail []pair
	for a0 < a1 && b0 < b1 && d.a[a1-1] == d.b[b1-1] {
		a1--
		b1--
		tail = append(tail, pair{a1, b1})
	}
	defer func() {
		for i := len(tail) - 1; i >= 0; i-- {
			d.pairs = append(d.pairs, tail[i])
		}
	}()
	if a0 == a1 || b0 == b1 {
		return
	}
	d.budget -= (a1 - a0) + (b1 - b0)
	if d.budget < 0 {
		return
	}
	anchors := d.anchors(a0, a1, b0, b1)
	if len(anchors) == 0 {
		d.myers(a0, a1, b0, b1)
		return
	}
	x, y := a0, b0
	for _, p := range anchors {
		d.match(x, p.x, y, p.y)
		d.pairs = append(d.pairs, p)
		x, y = p.x+1, p.y+1
	}
	d.match(x, a1, y, b1)
}

// anchors returns the lines that occur once in a[a0:a1] and once in
// b[b0:b1], in their longest common order.
func (d *differ) anchors(a0, a1, b0, b1 int) []pair {
	for i := a0; i < a1; i++ {
		id := d.a[i]
		d.countA[id]++
		d.posA[id] = i
	}
	for j := b0; j < b1; j++ {
		id := d.b[j]
		d.countB[id]++
		d.posB[id] = j
	}
	var cand []pair // in order of x
	for i := a0; i < a1; i++ {
		id := d.a[i]
		if d.countA[id] == 1 && d.countB[id] == 1 {
			cand = append(cand, pair{i, d.posB[id]})
		}
	}
	for i := a0; i < a1; i++ {
		d.countA[d.a[i]] = 0
	}
	for j := b0; j < b1; j++ {
		d.countB[d.b[j]] = 0
	}
	return longestIncreasing(cand)
}

// longestIncreasing returns the longest subsequence of ps (sorted by x)
// whose y increase too (patience sorting, O(n log n)).
func longestIncreasing(ps []pair) []pair {
	if len(ps) == 0 {
		return nil
	}
	tails := []int{} // tails[k]: index in ps of the smallest tail of an increasing run of length k+1
	prev := make([]int, len(ps))
	for i, p := range ps {
		k := sort.Search(len(tails), func(k int) bool { return ps[tails[k]].y >= p.y })
		if k > 0 {
			prev[i] = tails[k-1]
		} else {
			prev[i] = -1
		}
		if k == len(tails) {
			tails = append(tails, i)
		} else {
			tails[k] = i
		}
	}
	out := make([]pair, len(tails))
	for i, k := tails[len(tails)-1], len(tails)-1; k >= 0; i, k = prev[i], k-1 {
		out[k] = ps[i]
	}
	return out
}

// myers matches a[a0:a1] and b[b0:b1] with Myers' O(ND) algorithm, giving
// up (no match) beyond MaxEditDistance edits.
func (d *differ) myers(a0, a1, b0, b1 int) {
	n, m := a1-a0, b1-b0
	maxD := min(n+m, MaxEditDistance)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int
	found := -1
	for k := 0; k <= maxD && found < 0; k++ {
		d.budget -= 2*k + 1
		if d.budget < 0 {
			return
		}
		snap := make([]int, 2*k+1)
		copy(snap, v[off-k:off+k+1])
		trace = append(trace, snap)
		for diag := -k; diag <= k; diag += 2 {
			var x int
			if diag == -k || (diag != k && v[off+diag-1] < v[off+diag+1]) {
				x = v[off+diag+1]
			} else {
				x = v[off+diag-1] + 1
			}
			y := x - diag
			for x < n && y < m && d.a[a0+x] == d.b[b0+y] {
				x++
				y++
			}
			v[off+diag] = x
			if x >= n && y >= m {
				found = k
				break
			}
		}
	}
	if found < 0 {
		return
	}
	// Walk back through the trace: trace[k] holds v as step k found it,
	// indexed by diagonal + k.
	var rev []pair
	x, y := n, m
	for k := found; k > 0; k-- {
		vk := trace[k]
		diag := x - y
		prev := diag - 1 // a deletion: a move right
		if diag == -k || (diag != k && vk[diag-1+k] < vk[diag+1+k]) {
			prev = diag + 1 // an insertion: a move down
		}
		px := vk[prev+k]
		py := px - prev
		mx := px // x after the move, where the snake starts
		if prev == diag-1 {
			mx = px + 1
		}
		for x > mx {
			x--
			y--
			rev = append(rev, pair{a0 + x, b0 + y})
		}
		x, y = px, py
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, pair{a0 + x, b0 + y})
	}
	for i := len(rev) - 1; i >= 0; i-- {
		d.pairs = append(d.pairs, rev[i])
	}
}

// edits turns matched pairs into runs.
func edits(pairs []pair, n, m int) []Edit {
	var out []Edit
	add := func(op Op, a0, a1, b0, b1 int) {
		if a0 == a1 && b0 == b1 {
			return
		}
		if k := len(out) - 1; k >= 0 && out[k].Op == op && out[k].A1 == a0 && out[k].B1 == b0 {
			out[k].A1, out[k].B1 = a1, b1
			return
		}
		out = append(out, Edit{Op: op, A0: a0, A1: a1, B0: b0, B1: b1})
	}
	x, y := 0, 0
	for _, p := range append(pairs, pair{n, m}) {
		add(Delete, x, p.x, y, y)
		add(Insert, p.x, p.x, y, p.y)
		if p.x < n {
			add(Equal, p.x, p.x+1, p.y, p.y+1)
		}
		x, y = p.x+1, p.y+1
	}
	return out
}

// SplitLines splits s into lines, each with its trailing "\n"; the last
// line lacks it when s does not end in a newline. An empty s has no lines.
func SplitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// Stat counts the lines inserted and deleted by an edit script.
func Stat(es []Edit) (inserted, deleted int) {
	for _, e := range es {
		switch e.Op {
		case Insert:
			inserted += e.B1 - e.B0
		case Delete:
			deleted += e.A1 - e.A0
		}
	}
	return inserted, deleted
}

// Unified renders the difference between the texts a and b as a unified
// diff with the given number of context lines (negative means 0), headed
// "--- nameA" and "+++ nameB". It returns "" when a and b are equal. A last
// line without a newline is followed by "\ No newline at end of file", as
// diff(1) and git print it.
func Unified(nameA, nameB, a, b string, context int) string {
	la, lb := SplitLines(a), SplitLines(b)
	return UnifiedEdits(nameA, nameB, la, lb, Diff(la, lb), context)
}

// UnifiedEdits renders an edit script of Diff(a, b) as Unified does.
func UnifiedEdits(nameA, nameB string, a, b []string, es []Edit, context int) string {
	if context < 0 {
		context = 0
	}
	changed := false
	for _, e := range es {
		changed = changed || e.Op != Equal
	}
	if !changed {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", nameA, nameB)
	for _, h := range hunks(es, context) {
		writeHunk(&sb, a, b, h)
	}
	return sb.String()
}

// hunks groups an edit script into hunks: runs of changes with at most
// 2*context equal lines between them, with up to context equal lines
// before and after.
func hunks(es []Edit, context int) [][]Edit {
	var out [][]Edit
	var cur []Edit    // the hunk being built; empty until it has a change
	var pending *Edit // leading context of the next hunk
	for i, e := range es {
		if e.Op != Equal {
			if len(cur) == 0 && pending != nil {
				cur = append(cur, *pending)
			}
			pending = nil
			cur = append(cur, e)
			continue
		}
		n := e.A1 - e.A0
		k := min(n, context)
		last := i == len(es)-1
		switch {
		case len(cur) == 0:
			if k > 0 {
				pending = &Edit{Equal, e.A1 - k, e.A1, e.B1 - k, e.B1}
			}
		case last || n > 2*context:
			if k > 0 {
				cur = append(cur, Edit{Equal, e.A0, e.A0 + k, e.B0, e.B0 + k})
			}
			out = append(out, cur)
			cur = nil
			if !last && k > 0 {
				pending = &Edit{Equal, e.A1 - k, e.A1, e.B1 - k, e.B1}
			}
		default:
			cur = append(cur, e)
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func writeHunk(sb *strings.Builder, a, b []string, h []Edit) {
	a0, a1, b0, b1 := h[0].A0, h[len(h)-1].A1, h[0].B0, h[len(h)-1].B1
	fmt.Fprintf(sb, "@@ -%s +%s @@\n", hunkRange(a0, a1), hunkRange(b0, b1))
	line := func(prefix byte, s string) {
		sb.WriteByte(prefix)
		sb.WriteString(s)
		if !strings.HasSuffix(s, "\n") {
			sb.WriteString("\n\\ No newline at end of file\n")
		}
	}
	for _, e := range h {
		switch e.Op {
		case Equal:
			for _, s := range a[e.A0:e.A1] {
				line(' ', s)
			}
		case Delete:
			for _, s := range a[e.A0:e.A1] {
				line('-', s)
			}
		case Insert:
			for _, s := range b[e.B0:e.B1] {
				line('+', s)
			}
		}
	}
}

// hunkRange formats a hunk's line range as diff -u does: "start,count",
// "start" for one line, and the line before the hunk with count 0 for none.
func hunkRange(lo, hi int) string {
	switch n := hi - lo; n {
	case 0:
		return fmt.Sprintf("%d,0", lo)
	case 1:
		return fmt.Sprintf("%d", lo+1)
	default:
		return fmt.Sprintf("%d,%d", lo+1, n)
	}
}
