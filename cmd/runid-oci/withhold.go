package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

// withholdSecretEnv names the environment variable that gives the withhold
// secret file when --withhold-secret-file is not set.
const withholdSecretEnv = "RUNID_WITHHOLD_SECRET_FILE"

// defaultRevealDir is where push writes reveals by default (below it, a
// folder per identity).
const defaultRevealDir = "runid-reveals"

// withholdFlags is --withhold-secret-file, for the commands that build a
// declaration (digest, push, verify --declaration).
type withholdFlags struct {
	secretFile string
}

func (w *withholdFlags) addTo(fs *pflag.FlagSet) {
	fs.StringVar(&w.secretFile, "withhold-secret-file", "",
		"file whose bytes are the secret that withheld components are committed under (default $"+withholdSecretEnv+"); make one with: head -c 32 /dev/urandom > FILE")
}

// secret reads the withhold secret file named by the flag or the
// environment, or returns nil when neither names one (a declaration that
// withholds nothing needs none).
func (w *withholdFlags) secret() ([]byte, error) {
	path := w.secretFile
	if path == "" {
		path = os.Getenv(withholdSecretEnv)
	}
	if path == "" {
		return nil, nil
	}
	return pack.ReadWithholdSecret(path)
}

// revealFlags are --reveal and --component of verify.
type revealFlags struct {
	reveal    string
	component string
}

func (r *revealFlags) addTo(fs *pflag.FlagSet) {
	fs.StringVar(&r.reveal, "reveal", "", "a reveal file of a withheld component (as push writes them); needs --component")
	fs.StringVar(&r.component, "component", "", "with --reveal: the file to prove is exactly that withheld component")
}

// check reports a usage error for a flag given without its partner, or
// together with --declaration.
func (r *revealFlags) check(decl string) error {
	switch {
	case r.reveal != "" && r.component == "":
		return usageErrorf("--reveal needs --component FILE, the file to prove is the withheld component")
	case r.component != "" && r.reveal == "":
		return usageErrorf("--component needs --reveal FILE, the reveal of the withheld component")
	case r.reveal != "" && decl != "":
		return usageErrorf("--reveal and --declaration cannot be combined; verify each separately")
	}
	return nil
}

// verifyReveal runs pull.VerifyReveal for the flags and renders its
// report.
func (a *app) verifyReveal(ctx context.Context, store oras.ReadOnlyTarget, ref, display string, r revealFlags, opts pull.Options) error {
	rv, err := pull.ReadReveal(r.reveal)
	if err != nil {
		return err
	}
	f, err := os.Open(r.component)
	if err != nil {
		return fmt.Errorf("open --component: %w", err)
	}
	defer f.Close()
	rep, err := pull.VerifyReveal(ctx, store, ref, rv, f, pull.RevealOptions{Options: opts})
	return a.report(rep, rep, err, display, func(w io.Writer) error {
		if err := writeReport(w, rep, ""); err != nil {
			return err
		}
		if rep.Verified {
			_, err := fmt.Fprintf(w, "%s is exactly the withheld %s component %q\n", r.component, rv.Role, rv.Name)
			return err
		}
		return nil
	})
}

// writeRevealNote tells, on stderr, where push wrote reveals (with
// --output json they are in the result instead).
func (a *app) writeRevealNote(paths []string) {
	if len(paths) == 0 || a.json() {
		return
	}
	fmt.Fprintf(a.stderr, "wrote %d reveal file(s), keep them private; give one, with its component's file, to an auditor:\n", len(paths))
	for _, p := range paths {
		fmt.Fprintf(a.stderr, "  %s\n", p)
	}
}
