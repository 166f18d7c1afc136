package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/capture"
)

// maxRequestSize caps a request body read by import: its largest part is
// one json component, which is capped at the same size.
const maxRequestSize = pack.DefaultMaxStructuredSize

// importResult is the output of import.
type importResult struct {
	Format      string        `json:"format"`
	Directory   string        `json:"directory"`
	Declaration string        `json:"declaration"`
	Files       []string      `json:"files"`
	Digest      digest.Digest `json:"digest"`
	Warnings    []string      `json:"warnings"`
}

func newImportCmd(a *app) *cobra.Command {
	var dir, provider string
	var force bool
	cmd := &cobra.Command{
		Use:   "import FORMAT REQUEST.json --dir DIR",
		Short: "Write a declaration and its components from a model API request body",
		Long: `Write the composition of a model API request into DIR: a declaration,
runid.yaml, and one file per component, so that digest, push and verify
work on it like on any declaration. Prints the identity digest (last line).

FORMAT is the API of the request body:
  openai-chat         OpenAI Chat Completions   (POST /v1/chat/completions)
  openai-responses    OpenAI Responses          (POST /v1/responses)
  anthropic-messages  Anthropic Messages        (POST /v1/messages)

REQUEST.json is the body as sent, or - for stdin. The model becomes
model.json, the sampling fields parameters.json, the system or developer
instructions system-prompt/, each tool tools/<name>.json, the messages
input/, and every other field config/request.json, so nothing is dropped
and the components rebuild the request (checked on every import). Fields
named like credentials (api_key, authorization, organization, ...) are
dropped with a warning that names them. Existing files are not overwritten
without --force.`,
		Example: `  runid-oci import openai-chat request.json --dir ./run
  runid-oci import anthropic-messages - --dir ./run < body.json
  runid-oci push --oci-layout ./runs:captured ./run/runid.yaml`,
		Args:              exactArgs("FORMAT", "REQUEST.json"),
		ValidArgsFunction: completeImportArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, request := args[0], args[1]
			if !slices.Contains(capture.Formats(), format) {
				return usageErrorf("FORMAT %q: want one of %s", format, strings.Join(capture.Formats(), ", "))
			}
			if dir == "" {
				return usageErrorf("--dir is required: the directory to write the declaration and its components into")
			}
			body, err := readRequest(a.stdin, request)
			if err != nil {
				return err
			}
			log := a.logger()
			res, err := capture.ImportDir(cmd.Context(), format, body, dir, capture.DirOptions{
				Import:    capture.Options{Provider: provider, Build: pack.BuildOptions{Logger: log}},
				Overwrite: force,
			})
			if err != nil {
				return err
			}
			out := importResult{Format: res.Format, Directory: dir, Declaration: res.Declaration,
				Files: res.Files, Digest: res.Digest, Warnings: res.Warnings}
			if out.Warnings == nil {
				out.Warnings = []string{}
			}
			log.Info("imported request", "format", format, "declaration", out.Declaration, "components", len(out.Files))
			for _, w := range out.Warnings {
				fmt.Fprintf(a.stderr, "warning: %s\n", w)
			}
			return a.render(out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "wrote %s and %d component files\n%s\n", out.Declaration, len(out.Files), out.Digest)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "directory to write runid.yaml and the component files into (created if missing; required)")
	f.BoolVar(&force, "force", false, "overwrite existing files")
	f.StringVar(&provider, "provider", "", `model provider to record (default "openai" or "anthropic", from FORMAT)`)
	return cmd
}

// readRequest reads a request body from path, or from stdin for "-", up to
// maxRequestSize bytes.
func readRequest(stdin io.Reader, path string) ([]byte, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read request: %w", err)
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, maxRequestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read request %s: %w", path, err)
	}
	if int64(len(body)) > maxRequestSize {
		return nil, fmt.Errorf("read request %s: %w: over %d bytes", path, capture.ErrInvalidRequest, int64(maxRequestSize))
	}
	return body, nil
}
