// Command ggcr-registry serves go-containerregistry's in-memory registry
// (with the OCI referrers API) on a loopback address, as its own process,
// for the benchmark (go run ./bench), which measures the CPU a registry
// spends on a push:
//
//	go run ./internal/testregistry/ggcr-registry -addr 127.0.0.1:5000
//
// It logs nothing and runs until it is killed.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "address to listen on")
	flag.Parse()
	srv := &http.Server{
		Addr:              *addr,
		Handler:           registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))),
		ReadHeaderTimeout: 30 * time.Second,
	}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "ggcr-registry:", err)
		os.Exit(1)
	}
}
