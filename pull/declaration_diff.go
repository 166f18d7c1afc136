package pull

import (
	"fmt"
	"slices"
	"strings"

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
