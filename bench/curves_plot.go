package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// point is one measurement of a curve: y at x, or, when skip is set, the
// reason there is no measurement at x.
type point struct {
	x, y float64
	skip string
}

// series is one line of a curve: one tool doing one job.
type series struct {
	name   string
	points []point
}

// curve is one picture: series against a logarithmic x axis, drawn into
// file and printed as a table.
type curve struct {
	file   string // base name of the SVG in the output directory
	title  string
	xLabel string
	yLabel string
	logY   bool
	series []*series
	notes  []string // printed after the table
}

// add records y (or a skip reason) for x in the series named name,
// creating it.
func (c *curve) add(name string, p point) {
	for _, s := range c.series {
		if s.name == name {
			s.points = append(s.points, p)
			return
		}
	}
	c.series = append(c.series, &series{name: name, points: []point{p}})
}

// draw writes the curve as an SVG into dir. Points without a measurement
// are left out of the picture (the table gives their reason).
func (c *curve) draw(dir string) error {
	p := plot.New()
	p.Title.Text = c.title
	p.X.Label.Text = c.xLabel
	p.Y.Label.Text = c.yLabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	if c.logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Y.Min = 0
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	var args []any
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		var xys plotter.XYs
		for _, pt := range s.points {
			if pt.skip != "" || pt.x <= 0 || (c.logY && pt.y <= 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: pt.x, Y: pt.y})
			lo, hi = math.Min(lo, pt.y), math.Max(hi, pt.y)
		}
		if len(xys) > 0 {
			args = append(args, s.name, xys)
		}
	}
	if len(args) == 0 {
		return fmt.Errorf("curve %s: no measured point to draw", c.file)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	if c.logY && lo == hi {
		// A log axis needs a range.
		p.Y.Min, p.Y.Max = lo/2, hi*2
	} else if !c.logY {
		p.Y.Max = hi * 1.15
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, c.file))
}

// table writes the curve as a Markdown table: one row per x, one column
// per series.
func (c *curve) table(w io.Writer) {
	fmt.Fprintf(w, "%s (%s; %s)\n\n", c.title, c.file, c.yLabel)
	xs := map[float64]bool{}
	for _, s := range c.series {
		for _, p := range s.points {
			xs[p.x] = true
		}
	}
	keys := make([]float64, 0, len(xs))
	for x := range xs {
		keys = append(keys, x)
	}
	sort.Float64s(keys)
	head := []string{c.xLabel}
	for _, s := range c.series {
		head = append(head, s.name)
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---:|", len(head)))
	for _, x := range keys {
		row := []string{strconv.FormatFloat(x, 'f', -1, 64)}
		for _, s := range c.series {
			cell := ""
			for _, p := range s.points {
				if p.x != x {
					continue
				}
				if p.skip != "" {
					cell = "— (" + p.skip + ")"
				} else {
					cell = formatValue(p.y)
				}
			}
			row = append(row, cell)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w)
	for _, n := range c.notes {
		fmt.Fprintln(w, n)
	}
	if len(c.notes) > 0 {
		fmt.Fprintln(w)
	}
}

// flatness returns, for each series, its last measured point over its
// first: how much the cost grew across the curve.
func (c *curve) flatness() map[string]float64 {
	out := map[string]float64{}
	for _, s := range c.series {
		var first, last *point
		for i := range s.points {
			if s.points[i].skip != "" {
				continue
			}
			if first == nil {
				first = &s.points[i]
			}
			last = &s.points[i]
		}
		if first != nil && last != first && first.y > 0 {
			out[s.name] = last.y / first.y
		}
	}
	return out
}

// formatValue prints a measurement with three significant digits.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}
