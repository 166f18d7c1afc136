package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack"
)

func newDigestCmd(a *app) *cobra.Command {
	var wf withholdFlags
	cmd := &cobra.Command{
		Use:   "digest DECLARATION",
		Short: "Print the identity digest of a declaration (no network, no store)",
		Long: `Print the identity digest of a declaration: the digest that push would
report for it, computed locally without a network or a store. A declaration
with withheld components needs the same --withhold-secret-file as push.`,
		Example: `  runid-oci digest runid.yaml`,
		Args:    exactArgs("DECLARATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			secret, err := wf.secret()
			if err != nil {
				return err
			}
			tr := a.transfers()
			d, err := pack.Digest(cmd.Context(), args[0], pack.BuildOptions{Logger: a.logger(), WithholdSecret: secret, Progress: tr.pack()})
			tr.done()
			if err != nil {
				return err
			}
			return a.render(map[string]any{"digest": d}, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, d)
				return err
			})
		},
	}
	wf.addTo(cmd.Flags())
	return cmd
}
