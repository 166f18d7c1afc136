// Command prebuild builds the pinned CLIs (oras, cosign, registry, opa) into the
// tool cache, or confirms they are already there, and prints their paths.
// CI runs it before the tests so the build cost is paid once, visibly:
//
//	go run ./internal/clitools/prebuild
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/runid/runid-oci/internal/clitools"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cache, err := clitools.CacheDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "prebuild:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "prebuild: tool cache %s\n", cache)
	for _, tool := range clitools.Tools() {
		start := time.Now()
		fmt.Fprintf(os.Stderr, "prebuild: %s %s (%s) ...\n", tool, tool.Version(), tool.Package())
		path, err := clitools.Build(ctx, tool)
		if err != nil {
			fmt.Fprintf(os.Stderr, "prebuild: %s: %v\n", tool, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "prebuild: %s ready in %s\n", tool, time.Since(start).Round(time.Millisecond))
		fmt.Println(path)
	}
}
