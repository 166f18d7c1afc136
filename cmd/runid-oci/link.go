package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/target"
	"github.com/runid/runid-oci/spec"
)

// linkResult is the output of link.
type linkResult struct {
	referrerOutput
	Identity      spec.LinkedIdentity `json:"identity"`
	IndexAttempts int                 `json:"indexAttempts"`
}

func newLinkCmd(a *app) *cobra.Command {
	var tf targetFlags
	var identity, identityRepo string
	cmd := &cobra.Command{
		Use:   "link ARTIFACT --identity IDENTITY",
		Short: "Link an existing artifact to the run identity that produced it",
		Long: `Attach to ARTIFACT (a container image, a model, a dataset: any manifest or
index) a link naming the run identity IDENTITY that produced it (spec/SPEC.md
§8.2). The link is a small artifact of type application/vnd.runid.link.v1
whose subject is ARTIFACT and which records the identity's digest and
repository, so the identity may live in another repository or registry.
"runid-oci discover ARTIFACT" then shows the identities linked to it.

IDENTITY must exist and be a well-formed run identity; a tag is resolved to
the digest the link records. The repository recorded is IDENTITY's
registry/repository (or layout path), or --identity-repository. Linking the
same artifact to the same identity again changes nothing. Prints the link's
digest.

ARTIFACT and IDENTITY are registry/repository:tag or @digest; with
--oci-layout, OCI image layout directories PATH:tag or PATH@digest. Both are
opened with the same flags.`,
		Example: `  runid-oci link localhost:5000/images/agent:1.0 --identity localhost:5000/runs@sha256:... --plain-http
  runid-oci link --oci-layout ./images:agent --identity ./runs:v1`,
		Args: exactArgs("ARTIFACT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), a.logger()
			if identity == "" {
				return usageErrorf("--identity is required: the identity that produced %s", args[0])
			}
			at, err := tf.openNamed(ctx, "ARTIFACT", args[0], false)
			if err != nil {
				return err
			}
			it, err := tf.openNamed(ctx, "--identity", identity, true)
			if err != nil {
				return err
			}
			store, err := at.Writable()
			if err != nil {
				return err
			}
			repo := it.Display
			if identityRepo != "" {
				repo = identityRepo
			}
			res, err := referrer.Link(ctx, store, at.Reference, referrer.IdentityRef{Reference: it.Reference, Repository: repo},
				referrer.LinkOptions{IdentityStore: it.Store, Logger: log})
			if errors.Is(err, referrer.ErrNotFound) {
				return notFound(ctx, err, at, it)
			}
			if err != nil {
				return err
			}
			out := linkResult{
				referrerOutput: newReferrerOutput(at.Display, res.Descriptor, res.Subject),
				Identity:       res.Identity,
				IndexAttempts:  res.IndexAttempts,
			}
			log.Info("linked", "link", out.Reference, "artifact", out.Subject.Digest, "identity", out.Identity.String())
			return a.renderDigest(out, out.Digest)
		},
	}
	f := cmd.Flags()
	tf.addTo(f)
	f.StringVar(&identity, "identity", "", "the run identity that produced ARTIFACT (required)")
	f.StringVar(&identityRepo, "identity-repository", "", "repository to record for the identity, when readers fetch it elsewhere than IDENTITY (default: IDENTITY's repository)")
	return cmd
}

// notFound names in full the reference of link that does not exist: the
// library knows only the tag or digest it looked up in each store.
func notFound(ctx context.Context, err error, artifact, identity *target.Target) error {
	if _, rerr := artifact.Store.Resolve(ctx, artifact.Reference); rerr != nil {
		return fmt.Errorf("ARTIFACT %s: %w", artifact.String(), err)
	}
	return fmt.Errorf("--identity %s: %w", identity.String(), err)
}
