package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/mediatype"
)

// versionInfo is the output of the version command.
type versionInfo struct {
	Version     string `json:"version"`
	GoVersion   string `json:"goVersion"`
	SpecVersion string `json:"specVersion"`
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of runid-oci, of Go and of the Run Identity spec",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := versionInfo{Version: buildVersion(), GoVersion: runtime.Version(), SpecVersion: mediatype.SpecVersion}
			return a.render(v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "runid-oci %s\ngo:   %s\nspec: %s\n", v.Version, v.GoVersion, v.SpecVersion)
				return err
			})
		},
	}
}

// buildVersion is the -ldflags version, else the main module version from
// the build info, else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
