package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack/layout"
)

const layoutLong = `Check or repair an OCI image layout directory that runid-oci writes.

check reads the whole layout: oci-layout, index.json, every blob (hashed),
what every manifest references, the tags, runid-oci's index of tags and
referrers (.runid/), and the temporary files writers left. It changes
nothing. Exit 0 when the layout is healthy, 3 when it is damaged, 1 when it
could not be checked.

repair rebuilds the layout from its blobs, holding the layout's lock:
index.json lists every stored manifest again (identities, output records,
signatures, links), tags are kept from index.json when it can be read and
from .runid/tags otherwise, cosign signature tags are restored from the
signature manifests, corrupt blobs are moved to .runid/quarantine, and
leftover temporary files are removed. It repairs a layout whose index.json
an older writer cut short. index.json is replaced atomically: an
interrupted repair leaves the layout as it was, or repaired.`

func newLayoutCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "layout",
		Short: "Check or repair an OCI image layout directory",
		Long:  layoutLong,
		Args:  exactArgs(),
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check DIR",
		Short: "Report damage in an OCI image layout (exit 3 when damaged)",
		Args:  exactArgs("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := layout.Check(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := a.render(rep, func(w io.Writer) error { return checkText(w, rep) }); err != nil {
				return err
			}
			if !rep.Healthy {
				return exitStatus{code: exitNotVerify}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "repair DIR",
		Short: "Rebuild an OCI image layout's index from its blobs",
		Args:  exactArgs("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := layout.Repair(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.render(rep, func(w io.Writer) error {
				fmt.Fprintf(w, "repaired %s: %d manifests listed, %d tags, %d referrers\n", rep.Dir, rep.Manifests, rep.Tags, rep.Referrers)
				for _, t := range rep.TagsLost {
					fmt.Fprintf(w, "tag %s dropped: the manifest it named is not stored\n", t)
				}
				for _, q := range rep.Quarantined {
					fmt.Fprintf(w, "corrupt blob moved to quarantine: %s\n", q)
				}
				if rep.TempFilesRemoved > 0 {
					fmt.Fprintf(w, "%d leftover temporary files removed\n", rep.TempFilesRemoved)
				}
				return nil
			})
		},
	})
	return cmd
}

func checkText(w io.Writer, rep *layout.CheckReport) error {
	state := "healthy"
	if !rep.Healthy {
		state = "damaged"
	}
	fmt.Fprintf(w, "%s: %s (%d blobs, %d manifests, %d tags)\n", rep.Dir, state, rep.Blobs, rep.Manifests, rep.Tags)
	for _, p := range rep.Problems {
		where := p.Path
		if where == "" {
			where = p.Digest.String()
		}
		if _, err := fmt.Fprintf(w, "  %s: %s: %s\n", p.Kind, where, p.Message); err != nil {
			return err
		}
	}
	return nil
}
