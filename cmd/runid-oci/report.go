package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/diff"
	"github.com/runid/runid-oci/pull/report"
	"github.com/runid/runid-oci/pull/sigverify"
)

// reportMediaType is the media type of a report attached as an output.
const reportMediaType = "text/html"

// reportResult is the output of report when the HTML goes to a file.
type reportResult struct {
	Out       string        `json:"out"`
	Reference string        `json:"reference"`
	Identity  digest.Digest `json:"identity"`
	Verified  bool          `json:"verified"`
	Failed    int           `json:"failed"`
	Size      int64         `json:"size"`
	// Attached is the output record holding the report, with --attach.
	Attached *referrerOutput `json:"attached,omitempty"`
}

const reportLong = `Write the auditor's view of a run: one self-contained HTML file (inline CSS
and SVG, no script, no network request; it opens from a USB stick) that shows

  the verdict        every check (as verify runs them), the keys, the
                     policies (--policy, evaluated as verify --policy does),
                     each failure and each denial
  the composition    role by role in canonical order: each component's name,
                     media type, size and digest; text with line numbers, JSON
                     pretty-printed, binaries by size and digest, long content
                     folded; withheld components as commitments, with what to
                     ask the owner for a reveal
  the proofs         each signature (with --key), the chain from an output
                     record to its identity, links
  the graph          the referrers drawn: output records with their execution
                     facts, signatures, links, attestations
  the differences    with --against OTHER, side by side, role by role
  the commands       to re-check each claim with runid-oci, oras, sha256sum
                     and cosign

TARGET is an identity or an output record (then its chain to the identity).
OTHER is an identity or a declaration, as a side of diff. The report holds no
credential (disclosed lines that look like one are left out) and no withheld
byte; it is the same for the same inputs, except one line with the time it was
generated.

The HTML goes to --out FILE (written whole or not at all), or to stdout. With
--attach it is also attached to the identity as an output record (file
report.html, media type text/html).

Exit code: 0 verified, 3 does not verify (the report is written all the same
and says why), 1 could not make it, 2 usage.`

func newReportCmd(a *app) *cobra.Command {
	var tf targetFlags
	var wf withholdFlags
	var pf policyFlags
	var keys []string
	var against, out string
	var attach bool
	cmd := &cobra.Command{
		Use:   "report TARGET",
		Short: "Write a self-contained HTML report of a run, its proofs and its differences",
		Long:  reportLong,
		Example: `  runid-oci report --oci-layout ./runs:v1 --out report.html
  runid-oci report --plain-http localhost:5000/runs:v1 --key cosign.pub --against localhost:5000/runs:v2 --out report.html
  runid-oci report --oci-layout ./runs:v1 --key cosign.pub --policy policies/ --out report.html
  runid-oci report --oci-layout ./runs:v1 --key cosign.pub --out report.html --attach`,
		Args: exactArgs("TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), a.logger()
			if out == "" && a.json() {
				return usageErrorf("--output json needs --out FILE: without it the HTML goes to stdout")
			}
			if attach && out == "" {
				return usageErrorf("--attach needs --out FILE")
			}
			t, err := tf.open(ctx, args[0], !attach)
			if err != nil {
				return err
			}
			opts := report.Options{
				Options:  pull.Options{Logger: log},
				Name:     t.String(),
				Location: report.Location{Display: t.Display, Layout: t.LayoutPath != "", Tar: isLayoutTar(t.LayoutPath), PlainHTTP: tf.plainHTTP},
				Version:  buildVersion(),
			}
			if opts.Policy, err = pf.load(ctx); err != nil {
				return err
			}
			for _, k := range keys {
				v, err := sigverify.LoadPublicKeyFile(k)
				if err != nil {
					return err
				}
				opts.Keys = append(opts.Keys, report.KeyCheck{Name: k, Verifier: sigverify.Verifier{Key: v, Options: sigverify.Options{Logger: log}}})
			}
			if against != "" {
				side := diff.Side{Declaration: against, Name: against}
				if _, ok := declarationPath(against); !ok {
					other, err := tf.open(ctx, against, true)
					if err != nil {
						return fmt.Errorf("--against: %w", err)
					}
					side = diff.Side{Store: other.Store, Reference: other.Reference, Name: other.String()}
					if other.Display == t.Display && other.LayoutPath == t.LayoutPath {
						side.Store = t.Store // one store: a blob both runs share is read once
					}
				}
				secret, err := wf.secret()
				if err != nil {
					return err
				}
				opts.Against = &side
				opts.Compare = diff.CompareOptions{Options: pull.Options{Logger: log}, Build: pack.BuildOptions{Logger: log, WithholdSecret: secret}}
			}
			rep, err := report.Collect(ctx, t.Store, t.Reference, opts)
			if err != nil {
				return err
			}
			if out == "" {
				if err := report.Render(a.stdout, rep, report.RenderOptions{}); err != nil {
					return err
				}
				return reportExit(rep)
			}
			if err := report.WriteFile(out, rep, report.RenderOptions{}); err != nil {
				return err
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			res := reportResult{Out: out, Reference: rep.Reference, Identity: rep.IdentityDigest, Verified: rep.Verified, Failed: len(rep.Failed()), Size: st.Size()}
			if attach {
				store, err := t.Writable()
				if err != nil {
					return err
				}
				tr := a.transfers()
				ar, err := referrer.Attach(ctx, store, rep.IdentityDigest.String(), []referrer.OutputFile{{Path: out, Name: "report.html", MediaType: reportMediaType}},
					referrer.AttachOptions{Logger: log, Progress: tr.pack()})
				tr.done()
				if err != nil {
					return fmt.Errorf("--attach: %w", err)
				}
				ro := newReferrerOutput(t.Display, ar.Descriptor, ar.Subject)
				res.Attached = &ro
			}
			if err := a.render(res, res.text); err != nil {
				return err
			}
			return reportExit(rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "write the HTML to this file (default: stdout)")
	f.StringVar(&against, "against", "", "also show the differences with this run: an identity or a declaration, as a side of diff")
	f.StringArrayVar(&keys, "key", nil, "check the cosign signatures with this public key (cosign.pub); repeatable: each key must have signed")
	f.BoolVar(&attach, "attach", false, "also attach the report to the identity as an output record (needs --out)")
	pf.addTo(f, "after every check, evaluate data.runid.deny of these policies as verify --policy does")
	wf.addTo(f)
	tf.addTo(f)
	return cmd
}

// text is the --output text form of a written report.
func (r reportResult) text(w io.Writer) error {
	verdict := "verified"
	if !r.Verified {
		verdict = fmt.Sprintf("does not verify (%d check(s) failed)", r.Failed)
	}
	if _, err := fmt.Fprintf(w, "%s: report of %s (%s): %s\n", filepath.Clean(r.Out), r.Reference, r.Identity, verdict); err != nil {
		return err
	}
	if r.Attached != nil {
		_, err := fmt.Fprintf(w, "attached as output record %s\n", r.Attached.Reference)
		return err
	}
	return nil
}

// reportExit is the error that sets the exit code of a written report: nil
// when it verified, exit 3 when not.
func reportExit(rep *report.Report) error {
	if rep.Verified {
		return nil
	}
	return notVerifiedError{ref: rep.Reference, report: &pull.Report{Reference: rep.Reference, Checks: rep.Checks}}
}

// isLayoutTar reports whether path names an OCI image layout tar file (a
// regular file; a layout directory, even one opened read-only, is not).
func isLayoutTar(path string) bool {
	if path == "" {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
