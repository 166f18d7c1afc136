package main

import (
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/export"
)

func newExportCmd(a *app) *cobra.Command {
	var tf targetFlags
	var format, subject, record, predicate, identityRepo string
	var timestamp bool
	cmd := &cobra.Command{
		Use:   "export TARGET --format cyclonedx|intoto",
		Short: "Write an identity as a CycloneDX AI-BOM or an unsigned in-toto statement",
		Long: `Write the identity at TARGET on stdout in a format that supply-chain tools read.

--format cyclonedx (the default): a CycloneDX 1.6 JSON BOM of the run's
composition: the model as a machine-learning-model component (provider, name,
version, or its weights' digests), context and input documents, tools, prompts,
parameters and config as data components, the runtime's packages, each with
its SHA-256 hash; the identity digest is the BOM's metadata component and
names its serial number. The same identity gives the same bytes: no timestamp
unless --timestamp.

--format intoto: the in-toto statement that "runid-oci attest" would sign,
unsigned, for pipelines that sign with their own tools: --subject names the
artifact the run produced (a digest, or a reference opened with the target
flags), --record an output record, --predicate-type run or slsa.

The identity's manifest is hashed here and checked against every structural
rule; the model and runtime components are read through their digests.`,
		Example: `  runid-oci export localhost:5000/runs:v1 --plain-http > run.cdx.json
  runid-oci export --oci-layout ./runs:v1 --format intoto --subject sha256:... --predicate-type slsa`,
		Args: exactArgs("TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			opts := export.Options{Format: format, Predicate: predicate, Options: pull.Options{Logger: a.logger()}}
			switch format {
			case export.FormatCycloneDX:
				if subject != "" || record != "" {
					return usageErrorf("--subject and --record go with --format intoto")
				}
			case export.FormatInToto:
				if subject == "" {
					return usageErrorf("--format intoto needs --subject: the artifact the run produced (a digest or a reference)")
				}
				if _, err := attest.PredicateType(predicate); err != nil {
					return usageErrorf("--predicate-type %q: want run or slsa", predicate)
				}
			case "json", "text":
				return usageErrorf("--format %q: on export, --format is the export format, cyclonedx or intoto (both are JSON)", format)
			default:
				return usageErrorf("--format %q: want cyclonedx or intoto", format)
			}
			t, err := tf.openNamed(ctx, "TARGET", args[0], true)
			if err != nil {
				return err
			}
			opts.Repository = t.Display
			if identityRepo != "" {
				opts.Repository = identityRepo
			}
			if timestamp {
				opts.Timestamp = time.Now()
			}
			if subject != "" {
				if d, err := digest.Parse(subject); err == nil {
					opts.Subject = ocispec.Descriptor{Digest: d}
				} else {
					st, err := tf.openNamed(ctx, "--subject", subject, true)
					if err != nil {
						return err
					}
					if opts.Subject, err = sign.ResolveSubject(ctx, st.Store, st.Reference); err != nil {
						return err
					}
					opts.SubjectName = st.Display
				}
			}
			opts.Record = record
			b, err := export.Export(ctx, t.Store, t.Reference, opts)
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(b)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", export.FormatCycloneDX, "cyclonedx (a CycloneDX 1.6 JSON BOM) or intoto (the unsigned in-toto statement)")
	f.StringVar(&subject, "subject", "", "with --format intoto: the artifact the run produced, a digest (sha256:...) or a reference")
	f.StringVar(&record, "record", "", "with --format intoto: an output record of the identity in TARGET's repository (tag or digest)")
	f.StringVar(&predicate, "predicate-type", attest.PredicateRun, "with --format intoto: run or slsa")
	f.StringVar(&identityRepo, "identity-repository", "", "repository to record for the identity (default: TARGET's repository)")
	f.BoolVar(&timestamp, "timestamp", false, "record the current time in the BOM (the output then differs on every run)")
	tf.addTo(f)
	return cmd
}
