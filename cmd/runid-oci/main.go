// Command runid-oci gives every AI run a verifiable identity: it packs the
// composition declared in a runid.yaml into an OCI artifact whose manifest
// digest is the run's identity, pushes it to any OCI registry or OCI image
// layout, and inspects, verifies and pulls it back.
//
// Exit codes: 0 success, 1 error (could not do it), 2 usage error, 3 does not
// verify. Run "runid-oci --help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
// When empty, the main module version from the build info is used.
var version string

func main() {
	// The command never writes a heap profile; the runtime's sampling of
	// allocations for one would hold up to 1.5 MiB (a push of thousands of
	// components), which counts against the memory limit.
	runtime.MemProfileRate = 0
	startMemoryLimit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
