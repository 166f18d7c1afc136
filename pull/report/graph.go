package report

import (
	"fmt"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// Geometry of the graph drawing, in SVG user units.
const (
	graphIndent  = 36  // horizontal step per level
	graphBoxW    = 360 // box width
	graphLineH   = 16  // text line height
	graphPadY    = 10  // vertical padding inside a box
	graphGapY    = 12  // gap between boxes
	graphMaxText = 46  // characters of one line of a box
)

// graphNode is one node of the referrer graph as shown: a box of the
// drawing and a row of the table.
type graphNode struct {
	Depth    int
	Kind     string // identity, output, link, signature, attestation, other
	Title    string
	Digest   string
	Type     string   // artifactType
	Facts    []fact   // execution facts, link target, files
	Problems []string // errors, warnings, bounds
	// Drawing.
	X, Y, H int
	Lines   []string // text lines in the box, cut to graphMaxText
	Drawn   bool
}

type fact struct{ Name, Value string }

type graphEdge struct{ D string }

// graphView is the referrer graph laid out: nodes in depth-first order
// (parents before children), each on its own row, indented by level.
type graphView struct {
	Nodes      []*graphNode
	Edges      []graphEdge
	W, H       int
	Drawn      int
	NotDrawn   int
	Incomplete bool
}

// factOrder puts the execution facts a reader looks for first.
var factOrder = []string{spec.FactStatus, spec.FactStartedAt, spec.FactEndedAt, spec.FactServedModel, spec.FactInstanceID, spec.FactExitCode}

func nodeKind(n *pull.Node) string {
	if n.Kind == pull.KindOther {
		at := strings.ToLower(n.ArtifactType)
		if strings.Contains(at, "in-toto") || strings.Contains(at, "attestation") || strings.Contains(at, "slsa") || strings.Contains(at, "dsse") {
			return "attestation"
		}
	}
	return string(n.Kind)
}

func layoutGraph(t *pull.Tree, maxDrawn int) *graphView {
	g := &graphView{Incomplete: t.Incomplete}
	var stack []int // index of the last node at each depth
	y := graphGapY
	t.Walk(func(n *pull.Node, depth int) {
		gn := describeNode(n, depth)
		g.Nodes = append(g.Nodes, gn)
		idx := len(g.Nodes) - 1
		if len(stack) > depth {
			stack = stack[:depth]
		}
		parent := -1
		if depth > 0 && len(stack) >= depth {
			parent = stack[depth-1]
		}
		stack = append(stack, idx)
		if g.Drawn >= maxDrawn || (parent >= 0 && !g.Nodes[parent].Drawn) {
			g.NotDrawn++
			return
		}
		gn.Drawn = true
		g.Drawn++
		gn.X = 8 + depth*graphIndent
		gn.Y = y
		gn.H = 2*graphPadY + graphLineH*len(gn.Lines)
		y += gn.H + graphGapY
		if w := gn.X + graphBoxW + 8; w > g.W {
			g.W = w
		}
		if parent >= 0 {
			p := g.Nodes[parent]
			x0, y0 := p.X+graphIndent/2, p.Y+p.H
			x1, y1 := gn.X, gn.Y+graphPadY+graphLineH/2
			g.Edges = append(g.Edges, graphEdge{D: fmt.Sprintf("M%d %d V%d H%d", x0, y0, y1, x1)})
		}
	})
	g.H = y
	return g
}

func describeNode(n *pull.Node, depth int) *graphNode {
	gn := &graphNode{Depth: depth, Kind: nodeKind(n), Digest: n.Digest.String(), Type: n.ArtifactType}
	switch gn.Kind {
	case "identity":
		gn.Title = "run identity"
	case "output":
		gn.Title = "output record"
	case "link":
		gn.Title = "link"
	case "signature":
		gn.Title = "signature"
		if n.Via != "" {
			gn.Title += " (found by " + n.Via + ")"
		}
	case "attestation":
		gn.Title = "attestation"
	default:
		gn.Title = "other referrer"
	}
	if c := n.Annotations[ocispec.AnnotationCreated]; c != "" {
		gn.Facts = append(gn.Facts, fact{"created", c})
	}
	keys := make([]string, 0, len(n.Execution))
	for k := range n.Execution {
		if !slices.Contains(factOrder, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range append(slices.Clone(factOrder), keys...) {
		if v, ok := n.Execution[k]; ok {
			gn.Facts = append(gn.Facts, fact{k, factValue(v)})
		}
	}
	if n.Identity != nil {
		gn.Facts = append(gn.Facts, fact{"names identity", n.Identity.String()})
	}
	for _, f := range n.Files {
		gn.Facts = append(gn.Facts, fact{"file", fmt.Sprintf("%s (%d bytes, %s)", f.Annotations[ocispec.AnnotationTitle], f.Size, f.Digest)})
	}
	if n.Error != "" {
		gn.Problems = append(gn.Problems, "error: "+n.Error)
	}
	gn.Problems = append(gn.Problems, n.Warnings...)
	if n.Truncated {
		gn.Problems = append(gn.Problems, fmt.Sprintf("referrers left out: %d", n.Omitted))
	}
	if n.DepthLimited {
		gn.Problems = append(gn.Problems, "referrers not listed: depth limit")
	}
	if n.Seen {
		gn.Problems = append(gn.Problems, "listed again: shown once")
	}

	gn.Lines = append(gn.Lines, gn.Title, short(gn.Digest))
	for _, f := range gn.Facts {
		if f.Name == "file" || f.Name == spec.FactInstanceID {
			continue
		}
		gn.Lines = append(gn.Lines, f.Name+": "+f.Value)
	}
	if gn.Kind == "other" || gn.Kind == "attestation" {
		gn.Lines = append(gn.Lines, gn.Type)
	}
	if len(n.Files) > 0 {
		gn.Lines = append(gn.Lines, fmt.Sprintf("%d file(s)", len(n.Files)))
	}
	gn.Lines = append(gn.Lines, gn.Problems...)
	for i, l := range gn.Lines {
		gn.Lines[i] = cut(l, graphMaxText)
	}
	return gn
}

func factValue(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

// short shortens a digest for a drawing: algorithm and 16 hex digits.
func short(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+17 {
		return d[:i+17] + "…"
	}
	return d
}

// cut shortens s to n runes.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
