package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/spec"
)

// attachResult is the output of attach.
type attachResult struct {
	referrerOutput
	Created       string         `json:"created"`
	Files         []attachedFile `json:"files"`
	IndexAttempts int            `json:"indexAttempts"`
	Signature     *signOutput    `json:"signature,omitempty"`
}

// referrerOutput describes the referrer that attach or link pushed, and
// its subject, in the store displayed as display.
type referrerOutput struct {
	Digest       digest.Digest `json:"digest"`
	Reference    string        `json:"reference"`
	MediaType    string        `json:"mediaType"`
	ArtifactType string        `json:"artifactType"`
	Size         int64         `json:"size"`
	Subject      subjectRef    `json:"subject"`
}

func newReferrerOutput(display string, desc, subject ocispec.Descriptor) referrerOutput {
	return referrerOutput{
		Digest: desc.Digest, Reference: display + "@" + desc.Digest.String(),
		MediaType: desc.MediaType, ArtifactType: desc.ArtifactType, Size: desc.Size,
		Subject: subjectRef{Digest: subject.Digest, Reference: display + "@" + subject.Digest.String()},
	}
}

// subjectRef names the manifest a referrer refers to.
type subjectRef struct {
	Digest    digest.Digest `json:"digest"`
	Reference string        `json:"reference"`
}

// attachedFile is one output file of a record.
type attachedFile struct {
	Name      string        `json:"name"`
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
}

// maxFactsFile caps --facts and --external files.
const maxFactsFile = 1 << 20

func newAttachCmd(a *app) *cobra.Command {
	var tf targetFlags
	var sf signFlags
	var (
		instanceID, startedAt, endedAt, status, servedModel string
		exitCode                                            int
		facts, annotations                                  []string
		factsFile, externalFile                             string
	)
	cmd := &cobra.Command{
		Use:   "attach IDENTITY [FILE[:MEDIATYPE]...]",
		Short: "Attach a run's output files to its identity as an output record",
		Long: `Push FILEs as an output record of the identity IDENTITY (spec/SPEC.md §8.1):
an OCI artifact of type application/vnd.runid.output.v1 whose subject is the
identity. Each file becomes a layer titled with its base name, of media type
MEDIATYPE or application/vnd.runid.output.file.v1. Facts about this one
execution (instance ID, start and end time, status, exit code, served model,
any other fact) go into the record's output document, never into the
identity, which stays the same for every execution.

IDENTITY must exist and be a well-formed run identity whose blobs are all
present. Prints the record's digest. On a registry without the referrers
API, the record is added to the identity's referrers tag-schema index
(sha256-<hex>); concurrent attaches from other processes are detected and
the record is pushed again until the index lists it.

With --sign --key cosign.key the record is signed in the same step, as
"runid-oci sign" does (--new-bundle-format for a Sigstore bundle).

IDENTITY is registry/repository:tag or @digest; with --oci-layout, an OCI
image layout directory PATH:tag or PATH@digest.`,
		Example: `  runid-oci attach localhost:5000/runs@sha256:... answer.md report.csv:text/csv --plain-http \
      --instance-id run-42 --started-at 2025-03-01T10:00:00Z --status succeeded --exit-code 0
  runid-oci attach --oci-layout ./runs:v1 out/result.json -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usageErrorf("%s takes IDENTITY and zero or more FILEs", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), a.logger()
			if err := sf.check(); err != nil {
				return err
			}
			exec := map[string]any{}
			if factsFile != "" {
				if err := readJSONFile(factsFile, &exec); err != nil {
					return usageErrorf("--facts: %v", err)
				}
			}
			for _, f := range facts {
				k, v, ok := strings.Cut(f, "=")
				if !ok || k == "" {
					return usageErrorf("--fact %q: want KEY=VALUE", f)
				}
				exec[k] = v
			}
			for k, v := range map[string]string{spec.FactInstanceID: instanceID, spec.FactStartedAt: startedAt,
				spec.FactEndedAt: endedAt, spec.FactStatus: status, spec.FactServedModel: servedModel} {
				if v != "" {
					exec[k] = v
				}
			}
			if cmd.Flags().Changed("exit-code") {
				exec[spec.FactExitCode] = exitCode
			}
			if err := spec.CheckExecution(exec); err != nil {
				return usageError{err}
			}
			opts := referrer.AttachOptions{Execution: exec, Logger: log}
			if len(exec) == 0 {
				opts.Execution = nil
			}
			if externalFile != "" {
				if err := readJSONFile(externalFile, &opts.External); err != nil {
					return usageErrorf("--external: %v (want a JSON array of OCI descriptors)", err)
				}
			}
			for _, an := range annotations {
				k, v, ok := strings.Cut(an, "=")
				if !ok || k == "" {
					return usageErrorf("--annotation %q: want KEY=VALUE", an)
				}
				if opts.Annotations == nil {
					opts.Annotations = map[string]string{}
				}
				opts.Annotations[k] = v
			}
			var files []referrer.OutputFile
			for _, f := range args[1:] {
				files = append(files, parseOutputFile(f))
			}
			t, err := tf.openNamed(ctx, "IDENTITY", args[0], false)
			if err != nil {
				return err
			}
			store, err := t.Writable()
			if err != nil {
				return err
			}
			signer, err := sf.signer(a)
			if err != nil {
				return err
			}
			tr := a.transfers()
			opts.Progress = tr.pack()
			res, err := referrer.Attach(ctx, store, t.Reference, files, opts)
			tr.done()
			if err != nil {
				return err
			}
			out := attachResult{
				referrerOutput: newReferrerOutput(t.Display, res.Descriptor, res.Subject),
				Created:        res.Descriptor.Annotations[mediatype.AnnotationCreated],
				Files:          attachedFiles(res.Files),
				IndexAttempts:  res.IndexAttempts,
			}
			if out.Signature, err = a.signWritten(ctx, store, "attached", out.Reference, res.Descriptor.Digest, signer, &sf); err != nil {
				return err
			}
			log.Info("attached output record", "reference", out.Reference, "identity", out.Subject.Digest, "files", len(out.Files), "indexAttempts", out.IndexAttempts)
			return a.renderDigest(out, out.Digest)
		},
	}
	f := cmd.Flags()
	tf.addTo(f)
	sf.addTo(f, true)
	f.StringVar(&instanceID, "instance-id", "", "execution fact instanceId: an ID of this run instance")
	f.StringVar(&startedAt, "started-at", "", "execution fact startedAt: RFC 3339 time the run started")
	f.StringVar(&endedAt, "ended-at", "", "execution fact endedAt: RFC 3339 time the run ended")
	f.StringVar(&status, "status", "", "execution fact status: succeeded, failed or cancelled")
	f.IntVar(&exitCode, "exit-code", 0, "execution fact exitCode: the process exit code")
	f.StringVar(&servedModel, "served-model", "", "execution fact servedModel: the model the endpoint reported")
	f.StringArrayVar(&facts, "fact", nil, "another execution fact KEY=VALUE (a string; repeatable)")
	f.StringVar(&factsFile, "facts", "", "JSON file holding an object of execution facts (flags override its members)")
	f.StringVar(&externalFile, "external", "", "JSON file holding an array of OCI descriptors of outputs stored elsewhere")
	f.StringArrayVar(&annotations, "annotation", nil, "record manifest annotation KEY=VALUE (repeatable)")
	return cmd
}

// parseOutputFile splits PATH[:MEDIATYPE]: a suffix after the last colon is
// a media type when it contains a slash and no path separator follows.
func parseOutputFile(s string) referrer.OutputFile {
	if i := strings.LastIndex(s, ":"); i > 0 {
		mt := s[i+1:]
		if strings.Contains(mt, "/") && !strings.ContainsAny(mt, `\`) && !strings.HasPrefix(mt, "/") {
			if _, err := os.Stat(s); err != nil {
				return referrer.OutputFile{Path: s[:i], MediaType: mt}
			}
		}
	}
	return referrer.OutputFile{Path: s}
}

func attachedFiles(layers []ocispec.Descriptor) []attachedFile {
	out := []attachedFile{}
	for _, l := range layers {
		out = append(out, attachedFile{Name: l.Annotations[mediatype.AnnotationTitle], MediaType: l.MediaType, Digest: l.Digest, Size: l.Size})
	}
	return out
}

// readJSONFile decodes a JSON file of at most maxFactsFile bytes into v.
func readJSONFile(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFactsFile+1))
	if err != nil {
		return err
	}
	if len(data) > maxFactsFile {
		return fmt.Errorf("%s is over %d bytes", path, maxFactsFile)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}
