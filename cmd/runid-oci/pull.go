package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pull"
)

// pullResult is the output of pull: the verification report, the directory
// and the files written.
type pullResult struct {
	*pull.Report
	Directory string   `json:"directory"`
	Files     []string `json:"files"`
	// Declaration is the declaration written beside the files, which
	// "runid-oci digest" builds to the identity digest.
	Declaration string `json:"declaration,omitempty"`
	// Withheld names the withheld components, whose files are not there:
	// the declaration builds to the identity only with them in place and
	// the owner's withhold secret.
	Withheld []string `json:"withheld,omitempty"`
}

func newPullCmd(a *app) *cobra.Command {
	var tf targetFlags
	var dir, outDir, declName string
	var overwrite, noSync bool
	cmd := &cobra.Command{
		Use:   "pull TARGET -o DIR [--overwrite]",
		Short: "Verify an identity, then write its components into a directory",
		Long: `Verify the identity at TARGET (as verify does), then write every component
into DIR at its logical name. Nothing is written unless the identity
verifies; existing files are kept unless --overwrite is given.

Beside the components, pull writes a declaration, runid.yaml (--declaration
NAME to name it otherwise, --declaration "" for none), that names each
component's file: "runid-oci digest DIR/runid.yaml" gives the identity
digest again. A withheld component is declared withheld and its file is not
there: the digest is the identity's only once its file is put at its name
and the owner's --withhold-secret-file is given. Nothing is written beside
an output record's files.

Every file is flushed to disk before pull reports it, so that a crash
after pull returns cannot leave a file empty or cut short; --no-sync skips
the flush (as "oras pull" does), which is faster where the disk is slower
than the network, for a directory that need not survive a crash.

As with "oras pull", -o (--output) names the directory, the same as --dir;
the output format of pull is chosen with --format text|json.

Exit codes as for verify: 0 pulled, 3 does not verify, 1 could not pull.`,
		Example: `  runid-oci pull localhost:5000/runs:v1 --plain-http -o ./run
  runid-oci pull --oci-layout ./runs:v1 --dir ./run --overwrite --format json`,
		Args: exactArgs("TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case outDir != "" && dir != "" && outDir != dir:
				return usageErrorf("--dir %s and -o/--output %s name different directories: on pull both name the directory (choose JSON output with --format json)", dir, outDir)
			case outDir != "":
				dir = outDir
			case dir == "":
				return usageErrorf("-o DIR (or --dir DIR) is required: the directory to write the components into")
			}
			ctx := cmd.Context()
			t, err := tf.open(ctx, args[0], true)
			if err != nil {
				return err
			}
			opts := pull.PullOptions{Options: pull.Options{Logger: a.logger()}, Overwrite: overwrite, Declaration: declName, NoSync: noSync}
			tr := a.transfers()
			defer tr.done()
			opts.Progress = tr.pull()
			rep, err := pull.Pull(ctx, t.Store, t.Reference, dir, opts)
			tr.done()
			out := pullResult{Report: rep, Directory: dir, Files: []string{}}
			if err == nil && rep != nil && rep.Identity != nil {
				for _, c := range rep.Identity.Document.Components {
					if c.Withheld() {
						out.Withheld = append(out.Withheld, c.Name)
						continue
					}
					out.Files = append(out.Files, filepath.Join(dir, filepath.FromSlash(c.Name)))
				}
				if declName != "" && rep.Record == nil {
					out.Declaration = filepath.Join(dir, filepath.FromSlash(declName))
				}
			}
			var v any = out
			if err != nil {
				v = rep // not pulled: the report alone
			}
			return a.report(v, rep, err, t.String(), func(w io.Writer) error {
				if err != nil {
					return writeReport(w, rep, "")
				}
				fmt.Fprintf(w, "Pulled %s (%s) into %s: %d files\n", rep.Digest, rep.Reference, dir, len(out.Files))
				for _, f := range out.Files {
					if _, err := fmt.Fprintln(w, f); err != nil {
						return err
					}
				}
				if out.Declaration == "" {
					return nil
				}
				fmt.Fprintf(w, "Declaration %s: \"runid-oci digest %s\" gives %s", out.Declaration, out.Declaration, rep.Digest)
				if len(out.Withheld) > 0 {
					fmt.Fprintf(w, " once the %d withheld component(s) are put at their names beside it (%s) and the owner's --withhold-secret-file is given", len(out.Withheld), strings.Join(out.Withheld, ", "))
				}
				_, err := fmt.Fprintln(w)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the components into (as -o)")
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "directory to write the components into, as oras pull -o (required, or --dir)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace files that already exist in DIR")
	cmd.Flags().BoolVar(&noSync, "no-sync", false, "do not flush the written files to disk before returning")
	cmd.Flags().StringVar(&declName, "declaration", "runid.yaml", `name in DIR of the declaration written beside the components ("" for none)`)
	tf.addTo(cmd.Flags())
	return cmd
}
