package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/layout"
	"github.com/runid/runid-oci/pull/export"
	"github.com/runid/runid-oci/spec"
)

// completionTimeout bounds the reading of a layout's tags for a completion:
// a shell waits for it.
const completionTimeout = 2 * time.Second

// flagValues are the fixed values of flags, completed by the shell (cobra's
// "completion" command writes the scripts). A flag a command defines for
// its own purpose is completed with its own values: export --format.
var flagValues = map[string][]string{
	"output":         {"text\tplain text", "json\tindented JSON"},
	"format":         {"text\tplain text", "json\tindented JSON"},
	"predicate-type": {attest.PredicateRun + "\thttps://runid.dev/attestation/run/v1", attest.PredicateSLSA + "\tSLSA Provenance v1"},
	"status":         {spec.StatusSucceeded, spec.StatusFailed, spec.StatusCancelled},
	"on-store-error": {"fail\trefuse a request that cannot be declared", "forward\tforward it unrecorded"},
}

// commandFlagValues are the values of flags whose meaning is the command's
// own, by command name.
var commandFlagValues = map[string]map[string][]string{
	"export": {"format": {export.FormatCycloneDX + "\ta CycloneDX 1.6 JSON BOM", export.FormatInToto + "\tthe unsigned in-toto statement"}},
}

// registerCompletions adds value completion to every command under root:
// fixed flag values, import formats, and the tags of an OCI layout for a
// TARGET given with --oci-layout.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, values := range flagValues {
			if c.Flags().Lookup(name) == nil && c.PersistentFlags().Lookup(name) == nil {
				continue
			}
			if own := commandFlagValues[c.Name()][name]; own != nil {
				values = own
			}
			if c != root && c.Flags().Lookup(name) == root.PersistentFlags().Lookup(name) {
				continue // the root's persistent flag, completed once there
			}
			if name == "output" && c.Name() == "pull" {
				// pull -o is the directory.
				_ = c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
					return nil, cobra.ShellCompDirectiveFilterDirs
				})
				continue
			}
			_ = c.RegisterFlagCompletionFunc(name, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				return withPrefix(values, toComplete), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.ValidArgsFunction == nil {
			switch {
			case c.Flags().Lookup("oci-layout") != nil:
				c.ValidArgsFunction = completeLayoutArgs(map[int]string{0: "oci-layout"})
			case c.Flags().Lookup("from-oci-layout") != nil:
				c.ValidArgsFunction = completeLayoutArgs(map[int]string{0: "from-oci-layout", 1: "to-oci-layout"})
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeImportArgs completes import's FORMAT with the request formats;
// REQUEST.json is a file.
func completeImportArgs(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return withPrefix(capture.Formats(), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveDefault
}

// withPrefix keeps the values (each "value" or "value\tdescription") that
// start with prefix.
func withPrefix(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

// completeLayoutArgs completes the argument at each position with the tags
// of the OCI layout it names, when the layout flag given for that position
// is set: PATH:tag. Other arguments, and a PATH that is not a layout, are
// completed as files.
func completeLayoutArgs(layoutFlag map[int]string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		flag, ok := layoutFlag[len(args)]
		if !ok {
			return nil, cobra.ShellCompDirectiveDefault
		}
		if on, err := cmd.Flags().GetBool(flag); err != nil || !on {
			return nil, cobra.ShellCompDirectiveDefault
		}
		// A tag follows the last colon: PATH may hold colons.
		dir, partial, hasTag := toComplete, "", false
		if i := strings.LastIndex(toComplete, ":"); i >= 0 {
			dir, partial, hasTag = toComplete[:i], toComplete[i+1:], true
		}
		tags := layoutTags(cmd.Context(), dir)
		if tags == nil {
			if hasTag {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveDefault
		}
		var out []string
		for _, tag := range tags {
			if strings.HasPrefix(tag, partial) {
				out = append(out, dir+":"+tag)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// layoutTags lists the tags of the OCI layout at dir that a user names, not
// the referrer and signature tags (sha256-<hex>...); nil when dir is not a
// layout. It reads the layout without writing to it.
func layoutTags(ctx context.Context, dir string) []string {
	if dir == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, ocispec.ImageIndexFile)); err != nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	s, err := layout.Open(ctx, dir, layout.Options{ReadOnly: true})
	if err != nil {
		return nil
	}
	tags := []string{}
	err = s.Tags(ctx, "", func(page []string) error {
		for _, tag := range page {
			if !strings.HasPrefix(tag, "sha256-") {
				tags = append(tags, tag)
			}
		}
		return nil
	})
	if err != nil {
		return nil
	}
	return tags
}
