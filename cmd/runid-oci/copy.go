package main

import (
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/pack"
)

// copyOutput is the output of copy.
type copyOutput struct {
	Digest        digest.Digest        `json:"digest"`
	Source        string               `json:"source"`
	Destination   string               `json:"destination"`
	Tag           string               `json:"tag,omitempty"`
	Referrers     []ocispec.Descriptor `json:"referrers"`
	SignatureTags []string             `json:"signatureTags"`
}

func newCopyCmd(a *app) *cobra.Command {
	var from, to targetFlags
	cmd := &cobra.Command{
		Use:   "copy SOURCE DESTINATION",
		Short: "Copy an identity with its signatures, output records and links",
		Long: `Copy the manifest at SOURCE (an identity, or any manifest) to DESTINATION with
everything that refers to it: signatures in both formats, output records,
links, and their own signatures. Referrers are read through the source's
referrers API, its tag-schema fallback or an OCI layout's index, and written
so that the destination lists them whether or not it has the referrers API.
cosign's sha256-<hex>.sig tags are copied too. Afterwards the identity
verifies and is discovered at the destination as at the source.

SOURCE and DESTINATION are registry/repository[:tag|@digest], or with
--from-oci-layout / --to-oci-layout an OCI image layout (the source may be a
tar file). Without a tag, DESTINATION gets SOURCE's tag, if any.`,
		Example: `  runid-oci copy registry.a/runs:v1 registry.b/mirror/runs:v1
  runid-oci copy --from-oci-layout ./runs.tar:v1 localhost:5000/runs:v1 --to-plain-http
  runid-oci copy localhost:5000/runs:v1 --to-oci-layout ./export:v1 --from-plain-http`,
		Args: exactArgs("SOURCE", "DESTINATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), a.logger()
			src, err := from.openNamed(ctx, "SOURCE", args[0], true)
			if err != nil {
				return err
			}
			graph, ok := src.Store.(oras.ReadOnlyGraphTarget)
			if !ok {
				return fmt.Errorf("%s cannot list referrers", src.Display)
			}
			dst, err := to.open(ctx, args[1], false)
			if err != nil {
				return err
			}
			store, err := dst.Writable()
			if err != nil {
				return err
			}
			dstRef := dst.Reference
			if d, derr := digest.Parse(dstRef); derr == nil {
				// A digest DESTINATION must name what is copied; it sets no tag.
				root, err := graph.Resolve(ctx, src.Reference)
				if err != nil {
					return fmt.Errorf("resolve %s: %w", src.String(), err)
				}
				if root.Digest != d {
					return usageErrorf("DESTINATION %s names digest %s, but SOURCE is %s", args[1], d, root.Digest)
				}
				dstRef = ""
			}
			tr := a.transfers()
			res, err := pack.Copy(ctx, graph, src.Reference, store, dstRef, pack.CopyOptions{Logger: log, Progress: tr.pack()})
			tr.done()
			if err != nil {
				return err
			}
			out := copyOutput{Digest: res.Descriptor.Digest, Source: src.String(), Destination: dst.Display, Tag: res.Tag,
				Referrers: res.Referrers, SignatureTags: res.SignatureTags}
			log.Info("copied", "digest", out.Digest, "referrers", len(out.Referrers), "signatureTags", len(out.SignatureTags))
			return a.render(out, func(w io.Writer) error {
				fmt.Fprintf(w, "Copied %s to %s", out.Digest, out.Destination)
				if out.Tag != "" {
					fmt.Fprintf(w, ":%s", out.Tag)
				}
				_, err := fmt.Fprintf(w, " with %d referrer(s) and %d signature tag(s)\n", len(out.Referrers), len(out.SignatureTags))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&from.ociLayout, "from-oci-layout", false, "SOURCE is an OCI image layout directory or tar file: PATH[:tag|@digest]")
	f.BoolVar(&from.plainHTTP, "from-plain-http", false, "talk to the SOURCE registry over plain HTTP")
	f.BoolVar(&to.ociLayout, "to-oci-layout", false, "DESTINATION is an OCI image layout directory: PATH[:tag|@digest]")
	f.BoolVar(&to.plainHTTP, "to-plain-http", false, "talk to the DESTINATION registry over plain HTTP")
	from.remote.addTo(f, "from-", "SOURCE ")
	to.remote.addTo(f, "to-", "DESTINATION ")
	var registryConfig string
	f.StringVar(&registryConfig, "registry-config", "", "path of a Docker-style config file with registry credentials (default: the Docker config)")
	f.StringVar(&from.registryConfig, "from-registry-config", "", "path of a Docker-style config file with the SOURCE registry's credentials (default: --registry-config)")
	f.StringVar(&to.registryConfig, "to-registry-config", "", "path of a Docker-style config file with the DESTINATION registry's credentials (default: --registry-config)")
	cmd.PreRun = func(*cobra.Command, []string) {
		for _, side := range []*targetFlags{&from, &to} {
			if side.registryConfig == "" {
				side.registryConfig = registryConfig
			}
		}
	}
	return cmd
}
