package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack"
)

func newDigestCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "digest DECLARATION",
		Short: "Print the identity digest of a declaration (no network, no store)",
		Long: `Print the identity digest of a declaration: the digest that push would
report for it, computed locally without a network or a store.`,
		Example: `  runid-oci digest runid.yaml`,
		Args:    exactArgs("DECLARATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := pack.Digest(cmd.Context(), args[0], pack.BuildOptions{Logger: a.logger()})
			if err != nil {
				return err
			}
			return a.render(map[string]any{"digest": d}, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, d)
				return err
			})
		},
	}
}
