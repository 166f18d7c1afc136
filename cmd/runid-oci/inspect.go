package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// inspectResult is the output of inspect.
type inspectResult struct {
	Reference    string                `json:"reference"`
	Digest       digest.Digest         `json:"digest"`
	MediaType    string                `json:"mediaType"`
	ArtifactType string                `json:"artifactType"`
	Size         int64                 `json:"size"`
	SpecVersion  string                `json:"specVersion"`
	Roles        []roleState           `json:"roles"`
	Components   []spec.ComponentEntry `json:"components"`
	Warnings     []string              `json:"warnings,omitempty"`
}

// roleState is one role and its state; "missing" for a core role that the
// identity does not account for.
type roleState struct {
	Role  string `json:"role"`
	State string `json:"state"`
}

func newInspectCmd(a *app) *cobra.Command {
	var tf targetFlags
	var policyInput bool
	cmd := &cobra.Command{
		Use:   "inspect TARGET [--policy-input]",
		Short: "Show an identity: digest, spec version, role states and components",
		Long: `Show the identity at TARGET: its digest, spec version, the state of every
role (core roles in canonical order, then extension roles) and every
component's role, logical name, media type, size and digest. Blobs are not
fetched; use verify to check them.

With --policy-input, print instead the policy input document (JSON, always)
that verify --policy evaluates: for an identity, or an output record and its
identity, with the content of small disclosed components (fetched and checked
against their digests). Signatures are not checked by inspect, so the input
lists none. Use it with opa eval and opa test (docs/policy.md).

TARGET is registry/repository:tag or @digest; with --oci-layout, an OCI image
layout directory or tar file PATH:tag or PATH@digest.`,
		Example: `  runid-oci inspect localhost:5000/runs:v1 --plain-http
  runid-oci inspect --oci-layout ./runs:v1
  runid-oci inspect --oci-layout run.tar@sha256:... -o json
  runid-oci inspect --oci-layout ./runs:v1 --policy-input > input.json`,
		Args: exactArgs("TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, err := tf.open(ctx, args[0], true)
			if err != nil {
				return err
			}
			if policyInput {
				in, err := pull.PolicyInput(ctx, t.Store, t.Reference, pull.PolicyInputOptions{Options: pull.Options{Logger: a.logger()}})
				if err != nil {
					return err
				}
				if in.Output != nil {
					in.Output.Reference = t.String()
				} else {
					in.Identity.Reference = t.String()
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(in)
			}
			id, err := pull.Inspect(ctx, t.Store, t.Reference, pull.Options{Logger: a.logger()})
			if err != nil {
				return err
			}
			out := inspectResult{
				Reference: t.String(), Digest: id.Descriptor.Digest, MediaType: id.Descriptor.MediaType,
				ArtifactType: id.Descriptor.ArtifactType, Size: id.Descriptor.Size,
				SpecVersion: id.Document.SpecVersion, Roles: orderedRoles(id.Document.Roles),
				Components: id.Document.Components, Warnings: id.Warnings,
			}
			return a.render(out, func(w io.Writer) error { return writeInspect(w, out) })
		},
	}
	cmd.Flags().BoolVar(&policyInput, "policy-input", false, "print the policy input document (JSON) that verify --policy evaluates")
	tf.addTo(cmd.Flags())
	return cmd
}

// orderedRoles lists every core role in canonical order, then the extension
// roles by name.
func orderedRoles(roles map[string]string) []roleState {
	var out []roleState
	for _, r := range mediatype.CoreRoles() {
		st, ok := roles[r]
		if !ok {
			st = "missing"
		}
		out = append(out, roleState{r, st})
	}
	var ext []string
	for r := range roles {
		if !mediatype.IsCoreRole(r) {
			ext = append(ext, r)
		}
	}
	slices.Sort(ext)
	for _, r := range ext {
		out = append(out, roleState{r, roles[r]})
	}
	return out
}

func writeInspect(w io.Writer, r inspectResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Reference:\t%s\nDigest:\t%s\nSpec version:\t%s\n", r.Reference, r.Digest, r.SpecVersion)
	fmt.Fprintf(tw, "\nROLE\tSTATE\n")
	for _, rs := range r.Roles {
		fmt.Fprintf(tw, "%s\t%s\n", rs.Role, rs.State)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(tw, "\nROLE\tNAME\tMEDIA TYPE\tSIZE\tDIGEST\n")
	for _, c := range r.Components {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", c.Role, c.Name, c.MediaType, c.Size, c.Digest)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(tw, "warning: %s\n", warn)
	}
	return tw.Flush()
}
