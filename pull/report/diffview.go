package report

import (
	"strconv"
	"strings"

	"github.com/runid/runid-oci/pull/diff"
)

// sideRow is one row of a side-by-side text diff: the old line (A) on the
// left, the new line (B) on the right. A zero line number leaves its side
// empty.
type sideRow struct {
	Hunk         string // a hunk header row, when set
	ALine, BLine int
	A, B         string
	Class        string // ctx, chg, del, add
}

// sideBySide turns a unified diff into rows: context lines on both sides,
// removed lines paired with the added lines that follow them.
func sideBySide(unified string) []sideRow {
	var rows []sideRow
	var dels, adds []sideRow
	var aNo, bNo int
	flush := func() {
		n := max(len(dels), len(adds))
		for i := range n {
			r := sideRow{Class: "chg"}
			switch {
			case i >= len(adds):
				r.Class = "del"
			case i >= len(dels):
				r.Class = "add"
			}
			if i < len(dels) {
				r.ALine, r.A = dels[i].ALine, dels[i].A
			}
			if i < len(adds) {
				r.BLine, r.B = adds[i].BLine, adds[i].B
			}
			rows = append(rows, r)
		}
		dels, adds = dels[:0], adds[:0]
	}
	for _, l := range strings.Split(strings.TrimSuffix(unified, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ "):
		case strings.HasPrefix(l, "@@"):
			flush()
			aNo, bNo = hunkStart(l)
			rows = append(rows, sideRow{Hunk: l})
		case strings.HasPrefix(l, "-"):
			dels = append(dels, sideRow{ALine: aNo, A: l[1:]})
			aNo++
		case strings.HasPrefix(l, "+"):
			adds = append(adds, sideRow{BLine: bNo, B: l[1:]})
			bNo++
		case strings.HasPrefix(l, `\`):
			// "\ No newline at end of file"
		default:
			flush()
			text := strings.TrimPrefix(l, " ")
			rows = append(rows, sideRow{ALine: aNo, BLine: bNo, A: text, B: text, Class: "ctx"})
			aNo++
			bNo++
		}
	}
	flush()
	return rows
}

// hunkStart reads the first line numbers of "@@ -a,n +b,m @@".
func hunkStart(h string) (a, b int) {
	f := strings.Fields(h)
	num := func(s string) int {
		s = strings.TrimLeft(s, "-+")
		s, _, _ = strings.Cut(s, ",")
		n, _ := strconv.Atoi(s)
		return n
	}
	if len(f) >= 3 {
		a, b = num(f[1]), num(f[2])
	}
	return a, b
}

// roleDiffView is one role of a comparison as shown.
type roleDiffView struct {
	diff.RoleDiff
	Unchanged  bool
	Components []componentDiffView
}

type componentDiffView struct {
	diff.ComponentDiff
	Rows []sideRow
}

func diffViews(c *diff.Comparison) (changed, unchanged []roleDiffView) {
	for _, r := range c.Roles {
		v := roleDiffView{RoleDiff: r, Unchanged: r.StateA == r.StateB && !r.Reordered}
		for _, cd := range r.Components {
			if cd.Change != diff.ChangeUnchanged {
				v.Unchanged = false
			}
			cv := componentDiffView{ComponentDiff: cd}
			if cd.TextDiff != "" {
				cv.Rows = sideBySide(cd.TextDiff)
			}
			v.Components = append(v.Components, cv)
		}
		if v.Unchanged {
			unchanged = append(unchanged, v)
		} else {
			changed = append(changed, v)
		}
	}
	return changed, unchanged
}
