package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull"
)

func newDiscoverCmd(a *app) *cobra.Command {
	var tf targetFlags
	var opts pull.DiscoverOptions
	cmd := &cobra.Command{
		Use:   "discover TARGET",
		Short: "Show what refers to an identity or an artifact: outputs, links, signatures",
		Long: `Show the referrers graph of TARGET as a tree, like "oras discover": from a run
identity, its output records (with their files and execution facts), its
signatures and any other referrer; from any artifact, the links naming the
identities that produced it.

Referrers come from the registry's referrers API, or from the referrers
tag schema (sha256-<hex>) on registries without it, or from an OCI image
layout's graph. Nothing a listing says is trusted: each referrer's manifest
is read to confirm its subject and kind, and output records and links are
checked against spec/SPEC.md §8. The walk is bounded (--depth,
--max-referrers, --max-pages, --max-nodes); what is left out is said.

TARGET is registry/repository:tag or @digest; with --oci-layout, an OCI image
layout directory or tar file PATH:tag or PATH@digest.`,
		Example: `  runid-oci discover localhost:5000/runs@sha256:... --plain-http
  runid-oci discover localhost:5000/images/agent:1.0 --plain-http -o json
  runid-oci discover --oci-layout ./runs:v1 --artifact-type application/vnd.runid.output.v1`,
		Args: exactArgs("TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			for name, v := range map[string]int{"depth": opts.MaxDepth, "max-referrers": opts.MaxReferrersPerNode, "max-pages": opts.MaxPages, "max-nodes": opts.MaxNodes} {
				if cmd.Flags().Changed(name) && v < 1 {
					return usageErrorf("--%s %d: want at least 1", name, v)
				}
			}
			t, err := tf.openNamed(ctx, "TARGET", args[0], true)
			if err != nil {
				return err
			}
			opts.Repository, opts.Logger = t.Display, a.logger()
			tree, err := pull.Discover(ctx, t.Store, t.Reference, opts)
			if err != nil {
				return err
			}
			return a.render(tree, func(w io.Writer) error { return writeTree(w, tree) })
		},
	}
	f := cmd.Flags()
	tf.addTo(f)
	f.IntVar(&opts.MaxDepth, "depth", pull.DefaultDiscoverDepth, "levels of referrers to list below TARGET")
	f.IntVar(&opts.MaxReferrersPerNode, "max-referrers", pull.DefaultMaxReferrersPerNode, "referrers shown per node; more are counted and said")
	f.IntVar(&opts.MaxPages, "max-pages", pull.DefaultMaxReferrerPages, "pages of a referrers listing read per node")
	f.IntVar(&opts.MaxNodes, "max-nodes", pull.DefaultMaxNodes, "nodes shown in the whole tree")
	f.StringVar(&opts.ArtifactType, "artifact-type", "", "show only referrers of this artifactType (as read from their manifests)")
	return cmd
}

// writeTree prints a discovered tree, one node a line.
func writeTree(w io.Writer, t *pull.Tree) error {
	var b strings.Builder
	root := t.Reference
	if root == "" {
		root = t.Digest.String()
	}
	fmt.Fprintf(&b, "%s (%s)\n", root, nodeLabel(t.Node))
	writeNodeNotes(&b, t.Node, "")
	writeChildren(&b, t.Node, "")
	if len(t.Identities) > 0 {
		b.WriteString("\nProduced by (linked identities):\n")
		for _, id := range t.Identities {
			fmt.Fprintf(&b, "  %s\n", id)
		}
	}
	if t.Incomplete {
		b.WriteString("\nThe listing is truncated: raise --max-referrers, --max-pages or --max-nodes to see more.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeChildren(b *strings.Builder, n *pull.Node, prefix string) {
	lines := len(n.Referrers)
	if n.Truncated {
		lines++
	}
	for i, c := range n.Referrers {
		last := i == lines-1
		branch, next := "├── ", "│   "
		if last {
			branch, next = "└── ", "    "
		}
		fmt.Fprintf(b, "%s%s%s\n", prefix, branch, nodeLine(c))
		writeNodeNotes(b, c, prefix+next)
		writeChildren(b, c, prefix+next)
	}
	if n.Truncated {
		if n.Omitted > 0 {
			fmt.Fprintf(b, "%s└── … and at least %d more referrers not shown (truncated)\n", prefix, n.Omitted)
		} else {
			fmt.Fprintf(b, "%s└── … more referrers may exist (listing stopped at the page bound)\n", prefix)
		}
	}
}

// nodeLine is a referrer's line: kind, digest and what matters for the kind.
func nodeLine(n *pull.Node) string {
	parts := []string{string(n.Kind), n.Digest.String()}
	switch n.Kind {
	case pull.KindOutput:
		if c := n.Annotations[mediatype.AnnotationCreated]; c != "" {
			parts = append(parts, c)
		}
		if s, ok := n.Execution["status"].(string); ok {
			parts = append(parts, s)
		}
		if len(n.Files) > 0 {
			names := make([]string, len(n.Files))
			for i, f := range n.Files {
				names[i] = f.Annotations[mediatype.AnnotationTitle]
			}
			parts = append(parts, "files: "+strings.Join(names, ", "))
		}
	case pull.KindLink:
		if n.Identity != nil {
			parts = append(parts, "→ identity "+n.Identity.String())
		}
	default:
		if n.ArtifactType != "" {
			parts = append(parts, n.ArtifactType)
		}
	}
	if n.Via != "" {
		parts = append(parts, "(via "+n.Via+")")
	}
	if n.Seen {
		parts = append(parts, "(shown above)")
	}
	return strings.Join(parts, "  ")
}

func nodeLabel(n *pull.Node) string {
	if n.Kind == pull.KindOther && n.ArtifactType != "" {
		return n.ArtifactType
	}
	return string(n.Kind)
}

// writeNodeNotes prints a node's error and warnings under it.
func writeNodeNotes(b *strings.Builder, n *pull.Node, prefix string) {
	bar := "│ "
	if len(n.Referrers) == 0 && !n.Truncated {
		bar = "  "
	}
	if n.Error != "" {
		fmt.Fprintf(b, "%s%s! error: %s\n", prefix, bar, n.Error)
	}
	warnings := append([]string(nil), n.Warnings...)
	sort.Strings(warnings)
	for _, w := range warnings {
		fmt.Fprintf(b, "%s%s! warning: %s\n", prefix, bar, w)
	}
}
