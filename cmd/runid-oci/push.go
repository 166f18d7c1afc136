package main

import (
	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack"
)

// pushResult is the output of push.
type pushResult struct {
	Digest        digest.Digest `json:"digest"`
	Reference     string        `json:"reference"`
	MediaType     string        `json:"mediaType"`
	ArtifactType  string        `json:"artifactType"`
	Size          int64         `json:"size"`
	Tag           string        `json:"tag,omitempty"`
	BlobsUploaded int           `json:"blobsUploaded"`
	BlobsSkipped  int           `json:"blobsSkipped"`
	BytesUploaded int64         `json:"bytesUploaded"`
	Reveals       []string      `json:"reveals,omitempty"`
	Signature     *signOutput   `json:"signature,omitempty"`
}

func newPushCmd(a *app) *cobra.Command {
	var tf targetFlags
	var wf withholdFlags
	var revealDir string
	var allowSecrets bool
	var sf signFlags
	cmd := &cobra.Command{
		Use:   "push TARGET DECLARATION",
		Short: "Pack a declaration into an identity and push it",
		Long: `Pack the composition declared in DECLARATION into a run identity and push it
to TARGET: registry/repository[:tag], or with --oci-layout an OCI image
layout directory DIR[:tag] (created if missing). Prints the identity digest.

TARGET may name a digest (repo@sha256:...) only if it equals the computed one.

Components declared "withheld: true" are pushed as salted commitments, never
their content; they need --withhold-secret-file (the same file always gives
the same identity). Their reveals are written, mode 0600 and never pushed, to
REVEAL-DIR/<identity digest hex>/<component name>.reveal.json; give one,
with the component's file, to an auditor ("runid-oci verify --reveal").

Disclosed text, yaml and json components are scanned for credentials (API
keys, private keys, bearer tokens, passwords in connection strings): push
refuses, naming the component, the line and the kind (never the value),
unless the component is withheld or --allow-secrets is given.

With --sign --key cosign.key the identity is signed in the same step, as
"runid-oci sign" does (--new-bundle-format for a Sigstore bundle).`,
		Example: `  runid-oci push localhost:5000/runs:v1 runid.yaml --plain-http
  runid-oci push --oci-layout ./runs:v1 runid.yaml
  runid-oci push localhost:5000/runs:v1 runid.yaml --plain-http --sign --key cosign.key
  runid-oci push --oci-layout ./runs:v1 runid.yaml --withhold-secret-file withhold.secret`,
		Args: exactArgs("TARGET", "DECLARATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), a.logger()
			if err := sf.check(); err != nil {
				return err
			}
			secret, err := wf.secret()
			if err != nil {
				return err
			}
			tr := a.transfers()
			defer tr.done()
			comp, err := pack.Load(ctx, args[1], pack.BuildOptions{Logger: log, WithholdSecret: secret, Progress: tr.pack(), ScanCredentials: !allowSecrets})
			if err != nil {
				return err
			}
			id := comp.Digest()
			t, err := tf.open(ctx, args[0], false)
			if err != nil {
				return err
			}
			tag := t.Reference
			if _, derr := digest.Parse(tag); derr == nil {
				if tag != id.String() {
					return usageErrorf("TARGET %s names digest %s, but the declaration's identity is %s", args[0], tag, id)
				}
				tag = ""
			}
			store, err := t.Writable()
			if err != nil {
				return err
			}
			signer, err := sf.signer(a)
			if err != nil {
				return err
			}
			opts := pack.PushOptions{Tag: tag, Logger: log, AllowSecrets: allowSecrets, RevealDir: revealDir}
			opts.Progress = tr.pack()
			res, err := pack.Push(ctx, store, comp, opts)
			tr.done()
			if err != nil {
				return err
			}
			out := pushResult{
				Digest: res.Descriptor.Digest, Reference: pushedReference(t.Display, tag, res.Descriptor.Digest, t.LayoutPath != ""),
				MediaType: res.Descriptor.MediaType, ArtifactType: res.Descriptor.ArtifactType, Size: res.Descriptor.Size,
				Tag: res.Tag, BlobsUploaded: res.BlobsUploaded, BlobsSkipped: res.BlobsSkipped, BytesUploaded: res.BytesUploaded,
				Reveals: res.Reveals,
			}
			a.writeRevealNote(res.Reveals)
			if out.Signature, err = a.signWritten(ctx, store, "pushed", out.Reference, res.Descriptor.Digest, signer, &sf); err != nil {
				return err
			}
			log.Info("pushed identity", "reference", out.Reference, "uploaded", out.BlobsUploaded, "skipped", out.BlobsSkipped)
			return a.renderDigest(out, out.Digest)
		},
	}
	wf.addTo(cmd.Flags())
	cmd.Flags().StringVar(&revealDir, "reveal-dir", defaultRevealDir, "directory where the reveals of withheld components are written, in a folder per identity")
	cmd.Flags().BoolVar(&allowSecrets, "allow-secrets", false, "push even if a disclosed component looks like it holds a credential")
	sf.addTo(cmd.Flags(), true)
	tf.addTo(cmd.Flags())
	return cmd
}

// pushedReference is the full reference of a pushed identity: for a registry
// repo:tag@digest (or repo@digest), for a layout DIR:tag (or DIR@digest), so
// that it can be given back to inspect, verify and pull.
func pushedReference(store, tag string, d digest.Digest, layout bool) string {
	switch {
	case tag == "":
		return store + "@" + d.String()
	case layout:
		return store + ":" + tag
	default:
		return store + ":" + tag + "@" + d.String()
	}
}
