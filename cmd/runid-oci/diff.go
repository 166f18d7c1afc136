package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/target"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/diff"
)

// Exit codes of diff, as diff(1) has them.
const (
	diffSame      = 0 // identical
	diffDifferent = 1 // different
	diffTrouble   = 2 // could not compare: a side unreadable, not verifying, bad arguments
)

// exitStatus is an error that carries its own exit code, for a command
// whose codes are not the defaults (diff follows diff(1)). With a nil err
// the command has already said everything and run prints nothing.
type exitStatus struct {
	code int
	err  error
}

func (e exitStatus) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitStatus) Unwrap() error { return e.err }

const diffLong = `Compare the compositions of two runs, A and B, role by role: the components
added, removed, moved (order within a role is significant) and changed.

  text (prompts, documents)       a unified diff
  json, yaml (model, parameters,  the changes by path, e.g.
    tools, config, messages)        parameters.temperature: 0.2 -> 0.7
  binary                          both digests and sizes
  withheld                        unchanged only if the commitments are the
                                  same; the content is never visible

A and B are each an identity (registry/repository:tag or @digest; with
--oci-layout an OCI image layout directory or tar file PATH:tag or
PATH@digest) or a declaration: an existing .yaml, .yml or .json file, or a
directory holding runid.yaml that is not an OCI layout. Both sides are fully
verified before they are compared (every blob of an identity hashed, a
declaration built from its files, with --withhold-secret-file when it
withholds components); a component's content is read once by digest, even
when both sides have it.

Exit code, as diff(1): 0 identical, 1 different, 2 trouble (a side cannot be
read, does not verify, or bad arguments).`

func newDiffCmd(a *app) *cobra.Command {
	var tf targetFlags
	var wf withholdFlags
	var stat, all bool
	var contextLines int
	var maxSize int64
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Show what differs between the compositions of two runs",
		Long:  diffLong,
		Example: `  runid-oci diff --oci-layout ./runs:v1 ./runs:v2
  runid-oci diff --plain-http localhost:5000/runs:v1 ./runid.yaml
  runid-oci diff ./yesterday/runid.yaml ./today/runid.yaml --stat
  runid-oci diff --oci-layout run.tar@sha256:... ./runs:v2 -o json`,
		Args: exactArgs("A", "B"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), a.logger()
			if contextLines < 0 {
				return usageErrorf("--context %d: want 0 or more lines", contextLines)
			}
			if maxSize <= 0 {
				return usageErrorf("--max-diff-size %d: want a positive number of bytes", maxSize)
			}
			sa, sb, err := diffSides(ctx, tf, args[0], args[1])
			if err != nil {
				return exitStatus{code: diffTrouble, err: err}
			}
			var secret []byte
			if sa.Declaration != "" || sb.Declaration != "" {
				if secret, err = wf.secret(); err != nil {
					return exitStatus{code: diffTrouble, err: err}
				}
			}
			opts := diff.CompareOptions{
				Options:      pull.Options{Logger: log},
				Build:        pack.BuildOptions{Logger: log, WithholdSecret: secret},
				MaxDiffSize:  maxSize,
				ContextLines: contextLines,
				All:          all,
			}
			if contextLines == 0 {
				opts.ContextLines = -1 // none
			}
			cmp, err := diff.Compare(ctx, sa, sb, opts)
			if err != nil {
				return exitStatus{code: diffTrouble, err: err}
			}
			text := func(w io.Writer) error { return writeComparison(w, cmp) }
			if stat {
				text = func(w io.Writer) error { return writeComparisonStat(w, cmp) }
			}
			if err := a.render(cmp, text); err != nil {
				return exitStatus{code: diffTrouble, err: err}
			}
			if !cmp.Identical {
				return exitStatus{code: diffDifferent}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&stat, "stat", false, "one line per component that differs (text output)")
	f.BoolVar(&all, "all", false, "also list unchanged roles and components")
	f.IntVarP(&contextLines, "context", "U", diff.DefaultContextLines, "lines of context around each change of a text diff")
	f.Int64Var(&maxSize, "max-diff-size", diff.DefaultMaxDiffSize, "largest component (bytes) compared by content; a larger one is reported changed, too large to diff")
	tf.addTo(f)
	wf.addTo(f)
	return cmd
}

// diffSides turns the A and B arguments into comparison sides. Two
// identities in the same store share one opened store, so that a blob both
// have is fetched and verified once.
func diffSides(ctx context.Context, tf targetFlags, argA, argB string) (diff.Side, diff.Side, error) {
	var sides [2]diff.Side
	var targets [2]*target.Target
	for i, arg := range []string{argA, argB} {
		if decl, ok := declarationPath(arg); ok {
			sides[i] = diff.Side{Declaration: decl, Name: arg}
			continue
		}
		t, err := tf.open(ctx, arg, true)
		if err != nil {
			return diff.Side{}, diff.Side{}, fmt.Errorf("%s: %w", "AB"[i:i+1], err)
		}
		targets[i] = t
		sides[i] = diff.Side{Store: t.Store, Reference: t.Reference, Name: t.String()}
	}
	if targets[0] != nil && targets[1] != nil && targets[0].Display == targets[1].Display &&
		targets[0].LayoutPath == targets[1].LayoutPath {
		sides[1].Store = sides[0].Store
	}
	return sides[0], sides[1], nil
}

// declarationPath reports whether arg names a declaration: an existing
// regular file named *.yaml, *.yml or *.json, or a directory holding
// runid.yaml that is not an OCI image layout.
func declarationPath(arg string) (string, bool) {
	st, err := os.Stat(arg)
	if err != nil {
		return "", false
	}
	if st.Mode().IsRegular() {
		switch strings.ToLower(filepath.Ext(arg)) {
		case ".yaml", ".yml", ".json":
			return arg, true
		}
		return "", false
	}
	if !st.IsDir() {
		return "", false
	}
	if _, err := os.Stat(filepath.Join(arg, "oci-layout")); err == nil {
		return "", false
	}
	decl := filepath.Join(arg, "runid.yaml")
	if st, err := os.Stat(decl); err == nil && st.Mode().IsRegular() {
		return decl, true
	}
	return "", false
}

// writeComparison writes the text form: the two sides, then per role that
// differs a header and a block per component.
func writeComparison(w io.Writer, c *diff.Comparison) error {
	writeSides(w, c)
	if c.Identical {
		_, err := fmt.Fprintln(w, "identical")
		return err
	}
	for _, r := range c.Roles {
		fmt.Fprintf(w, "\n%s%s\n", r.Role, roleSuffix(r))
		for _, d := range r.Components {
			fmt.Fprintf(w, "  %-9s %s%s\n", d.Change, d.Name, componentSuffix(d))
			for _, l := range componentDetail(d) {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	return nil
}

func writeSides(w io.Writer, c *diff.Comparison) {
	for _, s := range []struct {
		label string
		info  diff.SideInfo
	}{{"A", c.A}, {"B", c.B}} {
		fmt.Fprintf(w, "%s %s %s (%s)\n", s.label, s.info.Reference, s.info.Digest, s.info.Kind)
	}
}

// roleSuffix says how a role's state or order differ.
func roleSuffix(r diff.RoleDiff) string {
	var parts []string
	if r.StateA != r.StateB {
		parts = append(parts, r.StateA+" -> "+r.StateB)
	}
	if r.Reordered {
		parts = append(parts, "reordered")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// componentSuffix is what follows a component's name on its line.
func componentSuffix(d diff.ComponentDiff) string {
	switch {
	case d.Change == diff.ChangeAdded:
		return fmt.Sprintf(" (%s, %d bytes, %s)", d.Kind, d.B.Size, d.B.Digest)
	case d.Change == diff.ChangeRemoved:
		return fmt.Sprintf(" (%s, %d bytes, %s)", d.Kind, d.A.Size, d.A.Digest)
	case d.Change == diff.ChangeMoved || d.Moved:
		return fmt.Sprintf(" (position %d -> %d)", d.A.Index+1, d.B.Index+1)
	}
	return ""
}

// componentDetail is the block under a component: its note, the digests of
// a binary, withheld or too large component, its path changes or its
// unified diff.
func componentDetail(d diff.ComponentDiff) []string {
	var out []string
	if d.Note != "" {
		out = append(out, d.Note)
	}
	if d.Change != diff.ChangeChanged {
		return out
	}
	if d.Kind == diff.KindBinary || d.Kind == diff.KindWithheld || d.TooLarge {
		out = append(out, fmt.Sprintf("%s (%d bytes) -> %s (%d bytes)", d.A.Digest, d.A.Size, d.B.Digest, d.B.Size))
	}
	for _, p := range d.Paths {
		out = append(out, pathLine(p))
	}
	if d.PathsOmitted > 0 {
		out = append(out, fmt.Sprintf("... and %d more changes", d.PathsOmitted))
	}
	if d.TextDiff != "" {
		out = append(out, strings.Split(strings.TrimSuffix(d.TextDiff, "\n"), "\n")...)
	}
	return out
}

// pathLine renders a path change: "path: from -> to", "path added: to",
// "path removed: from".
func pathLine(p diff.PathChange) string {
	switch p.Change {
	case diff.ChangeAdded:
		return fmt.Sprintf("%s added: %s", p.Path, shorten(string(p.To)))
	case diff.ChangeRemoved:
		return fmt.Sprintf("%s removed: %s", p.Path, shorten(string(p.From)))
	}
	return fmt.Sprintf("%s: %s -> %s", p.Path, shorten(string(p.From)), shorten(string(p.To)))
}

// maxValueWidth is the widest value a text path line shows.
const maxValueWidth = 120

func shorten(s string) string {
	if r := []rune(s); len(r) > maxValueWidth {
		return string(r[:maxValueWidth-1]) + "…"
	}
	return s
}

// writeComparisonStat writes one line per component (or role state) that
// differs, then a summary.
func writeComparisonStat(w io.Writer, c *diff.Comparison) error {
	if c.Identical {
		writeSides(w, c)
		_, err := fmt.Fprintln(w, "identical")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	counts := map[string]int{}
	n := 0
	for _, r := range c.Roles {
		if r.StateA != r.StateB {
			fmt.Fprintf(tw, " %s\t\t| role %s -> %s\n", r.Role, r.StateA, r.StateB)
		}
		for _, d := range r.Components {
			if d.Change == diff.ChangeUnchanged {
				continue
			}
			counts[d.Change]++
			n++
			fmt.Fprintf(tw, " %s\t%s\t| %s\n", r.Role, d.Name, statSummary(d))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, ch := range []string{diff.ChangeAdded, diff.ChangeRemoved, diff.ChangeChanged, diff.ChangeMoved} {
		if counts[ch] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[ch], ch))
		}
	}
	noun := "components differ"
	if n == 1 {
		noun = "component differs"
	}
	summary := fmt.Sprintf(" %d %s", n, noun)
	if len(parts) > 0 {
		summary += ": " + strings.Join(parts, ", ")
	}
	_, err := fmt.Fprintln(w, summary)
	return err
}

// statSummary is the --stat description of one component.
func statSummary(d diff.ComponentDiff) string {
	switch d.Change {
	case diff.ChangeAdded:
		return fmt.Sprintf("added %s, %d bytes", d.Kind, d.B.Size)
	case diff.ChangeRemoved:
		return fmt.Sprintf("removed %s, %d bytes", d.Kind, d.A.Size)
	case diff.ChangeMoved:
		return fmt.Sprintf("moved, position %d -> %d", d.A.Index+1, d.B.Index+1)
	}
	s := "changed " + d.Kind
	switch {
	case d.TooLarge:
		s += fmt.Sprintf(", too large to diff, %d -> %d bytes", d.A.Size, d.B.Size)
	case d.TextDiff != "":
		s += fmt.Sprintf(" +%d -%d", d.LinesAdded, d.LinesRemoved)
	case d.Kind == diff.KindStructured:
		n := len(d.Paths) + d.PathsOmitted
		s += fmt.Sprintf(", %d path%s", n, plural(n))
	case d.Kind == diff.KindBinary:
		s += fmt.Sprintf(", %d -> %d bytes", d.A.Size, d.B.Size)
	case d.Kind == diff.KindWithheld:
		s += ", " + d.Note
	}
	if d.Moved {
		s += fmt.Sprintf(", moved %d -> %d", d.A.Index+1, d.B.Index+1)
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// handleExitStatus ends a run whose error is an exitStatus: it prints the
// error, if there is one, and returns its exit code. ok is false for any
// other error.
func handleExitStatus(stderr io.Writer, err error) (code int, ok bool) {
	var es exitStatus
	if !errors.As(err, &es) {
		return 0, false
	}
	if es.err != nil {
		fmt.Fprintf(stderr, "runid-oci: %v\n", es.err)
	}
	return es.code, true
}
