package pull

import (
	"fmt"
	"slices"
	"strings"

	"github.com/runid/runid-oci/internal/textdiff"
	"github.com/runid/runid-oci/spec"
)

// diffComponents compares components by logical name: want is the
// declaration's, got the identity's. Differences come in want's order
// (removed, changed, moved), then the added ones in got's order.
func diffComponents(want, got []spec.ComponentEntry) []ComponentDifference {
	gotIdx := make(map[string]int, len(got))
	for i, g := range got {
		gotIdx[g.Name] = i
	}
	wantIdx := make(map[string]int, len(want))
	for i, w := range want {
		wantIdx[w.Name] = i
	}
	// Positions among the components both sides have, so that an added or
	// removed component does not make every later one "moved".
	var common []string
	for _, w := range want {
		if _, ok := gotIdx[w.Name]; ok {
			common = append(common, w.Name)
		}
	}
	wantPos := make(map[string]int, len(common))
	for i, n := range common {
		wantPos[n] = i
	}
	gotPos := make(map[string]int, len(common))
	pos := 0
	for _, g := range got {
		if _, ok := wantIdx[g.Name]; ok {
			gotPos[g.Name] = pos
			pos++
		}
	}

	var out []ComponentDifference
	for i := range want {
		w := &want[i]
		j, ok := gotIdx[w.Name]
		if !ok {
			out = append(out, ComponentDifference{Name: w.Name, Role: w.Role, Change: "removed", Want: w})
			continue
		}
		g := &got[j]
		switch {
		case w.Digest != g.Digest || w.Size != g.Size || w.MediaType != g.MediaType:
			out = append(out, ComponentDifference{Name: w.Name, Role: g.Role, Change: "changed", Want: w, Got: g})
		case w.Role != g.Role || wantPos[w.Name] != gotPos[w.Name]:
			out = append(out, ComponentDifference{Name: w.Name, Role: g.Role, Change: "moved", Want: w, Got: g})
		}
	}
	for i := range got {
		g := &got[i]
		if _, ok := wantIdx[g.Name]; !ok {
			out = append(out, ComponentDifference{Name: g.Name, Role: g.Role, Change: "added", Got: g})
		}
	}
	return out
}

// diffRoles describes the roles whose state differs, e.g.
// "tools: declaration none, identity present", sorted by role.
func diffRoles(want, got map[string]string) string {
	var roles []string
	for r := range want {
		roles = append(roles, r)
	}
	for r := range got {
		if _, ok := want[r]; !ok {
			roles = append(roles, r)
		}
	}
	slices.SortFunc(roles, func(a, b string) int {
		switch {
		case spec.RoleOrderLess(a, b):
			return -1
		case spec.RoleOrderLess(b, a):
			return 1
		}
		return 0
	})
	var parts []string
	for _, r := range roles {
		w, g := want[r], got[r]
		if w == g {
			continue
		}
		if w == "" {
			w = "absent"
		}
		if g == "" {
			g = "absent"
		}
		parts = append(parts, fmt.Sprintf("%s: declaration %s, identity %s", r, w, g))
	}
	return strings.Join(parts, "; ")
}

// alignedComponent is one logical name of a role as two sides have it: a
// and b are nil on the side that lacks it; ai and bi are the positions in
// the role's component list (-1 when absent). moved is set for a name that
// both sides have whose place among the common names differs.
type alignedComponent struct {
	a, b   *spec.ComponentEntry
	ai, bi int
	moved  bool
}

// alignComponents pairs the components of one role by logical name and
// orders them as a merged list: the names that keep their relative order
// (a longest common subsequence of the two name lists) stay in place,
// names only in a come where a had them, names only in b where b has them,
// and a name both have at other relative places (moved) comes where b has
// it. So swapping two neighbours moves one, not both, and inserting one
// name moves none.
func alignComponents(a, b []spec.ComponentEntry) []alignedComponent {
	na, nb := make([]string, len(a)), make([]string, len(b))
	inA, inB := make(map[string]int, len(a)), make(map[string]int, len(b))
	for i, c := range a {
		na[i], inA[c.Name] = c.Name, i
	}
	for i, c := range b {
		nb[i], inB[c.Name] = c.Name, i
	}
	var out []alignedComponent
	for _, e := range textdiff.Diff(na, nb) {
		switch e.Op {
		case textdiff.Equal:
			for k := range e.A1 - e.A0 {
				i, j := e.A0+k, e.B0+k
				out = append(out, alignedComponent{a: &a[i], b: &b[j], ai: i, bi: j})
			}
		case textdiff.Delete:
			for i := e.A0; i < e.A1; i++ {
				if _, ok := inB[na[i]]; !ok {
					out = append(out, alignedComponent{a: &a[i], ai: i, bi: -1})
				}
			}
		case textdiff.Insert:
			for j := e.B0; j < e.B1; j++ {
				if i, ok := inA[nb[j]]; ok {
					out = append(out, alignedComponent{a: &a[i], b: &b[j], ai: i, bi: j, moved: true})
				} else {
					out = append(out, alignedComponent{b: &b[j], ai: -1, bi: j})
				}
			}
		}
	}
	return out
}
