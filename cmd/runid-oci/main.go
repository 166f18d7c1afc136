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
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
// When empty, the main module version from the build info is used.
var version string

// memoryLimit is the soft limit on the Go runtime's memory that the command
// sets unless GOMEMLIMIT is given (see setMemoryLimit).
const memoryLimit = 36 << 20

// setMemoryLimit sets the soft memory limit of the Go runtime to
// memoryLimit, unless the environment gives one (GOMEMLIMIT, which the
// runtime applies itself). Blobs are streamed, so what the command holds is
// bounded by its metadata: for a push of 10,000 components about 20 MB
// live at the peak. With the default GC target the heap grows to twice
// that before it is collected, which on top of the 25 MB of the binary
// itself made the push peak at 70 MB of resident memory; with the limit
// the collector runs earlier once the heap nears 36 MiB (the push peaked at
// 57 MB, for about 5% more CPU). It is a soft limit: a command that needs
// more memory gets it, at the cost of more frequent collections.
func setMemoryLimit() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// liftMemoryLimit takes setMemoryLimit's limit off again, unless the
// environment gives one, for the proxy: a server whose live heap grows with
// what it has stored (oras-go keeps every manifest of an OCI layout in
// memory, about 8 KB per proxied request) would pass 36 MiB after a few
// thousand requests, and the collector would then run nearly without
// pause (measured: 3 ms of CPU per request after 3,000 requests, 8-10 ms
// after 20,000; 2.0-2.4 ms throughout without the limit).
func liftMemoryLimit() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

func main() {
	setMemoryLimit()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
