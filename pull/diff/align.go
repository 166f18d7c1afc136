package diff

import (
	"github.com/runid/runid-oci/pull/diff/internal/textdiff"
	"github.com/runid/runid-oci/spec"
)

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
