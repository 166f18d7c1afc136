package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/scan"
	"github.com/runid/runid-oci/pack/target"
	"github.com/runid/runid-oci/pull"
)

// Exit codes of runid-oci.
const (
	exitOK        = 0 // success
	exitError     = 1 // could not do it: network, auth, I/O, bad input
	exitUsage     = 2 // bad flags or arguments
	exitNotVerify = 3 // the identity was read but does not verify
)

// commands lists every subcommand. Adding a command is one line here and one
// file defining its constructor.
var commands = []func(*app) *cobra.Command{
	newDigestCmd,
	newPushCmd,
	newInspectCmd,
	newVerifyCmd,
	newPullCmd,
	newVersionCmd,
	newSignCmd,
	newKeyCmd,
	newCopyCmd,
	newAttachCmd,
	newLinkCmd,
	newAttestCmd,
	newExportCmd,
	newDiscoverCmd,
	newDiffCmd,
	newReportCmd,
	newImportCmd,
	newProxyCmd,
	newLayoutCmd,
	newLoginCmd,
	newLogoutCmd,
}

const rootLong = `runid-oci gives every AI run a verifiable identity.

A run's full composition (model, parameters, system prompt, tools, context,
input, config, runtime, and extension roles) is declared in a runid.yaml
before it executes. runid-oci packs it into an OCI artifact whose manifest
digest is the identity: the same composition has the same digest anywhere.
Identities are stored in any OCI registry or in an OCI image layout directory
(--oci-layout), and anyone can inspect, verify and pull them.

Exit codes:
  0  success
  1  error: could not do it (network, authentication, I/O, bad input)
  2  usage error: bad flags or arguments
  3  does not verify: the identity was read but fails verification`

// app holds what every command shares: the streams and the global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	output     string // text or json: --output, -o
	format     string // text or json: --format, the same choice as --output
	verbose    bool
	debug      bool
	noProgress bool
}

// run executes runid-oci with args and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if code, ok := handleExitStatus(stderr, err); ok {
		return code
	}
	code := exitCode(err)
	fmt.Fprintf(stderr, "runid-oci: %v\n", err)
	if h := hint(cmd, err); h != "" {
		fmt.Fprintln(stderr, h)
	}
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "runid-oci",
		Short:         "Give every AI run a verifiable identity, stored as an OCI artifact",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := a.outputFormat(cmd); err != nil {
				return err
			}
			return a.readPasswordStdin(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json (on pull, -o is the directory)")
	pf.StringVar(&a.format, "format", "", "output format: text or json, as --output (on export, the export format)")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log what is done (info level) on stderr")
	pf.BoolVar(&a.debug, "debug", false, "log everything (debug level) on stderr")
	pf.BoolVar(&a.noProgress, "no-progress", false, "show no progress bars (they are shown only when stderr is a terminal)")
	for _, c := range commands {
		root.AddCommand(c(a))
	}
	registerCompletions(root)
	return root
}

// outputFormat settles the output format from --output (-o) and --format,
// the spellings of runid-oci and of oras users. A command may define either
// flag itself for its own purpose (pull -o DIR, export --format
// cyclonedx); only the root's flags choose the output format.
func (a *app) outputFormat(cmd *cobra.Command) error {
	chosen := func(name string) bool {
		f := cmd.Flags().Lookup(name)
		return f != nil && f == cmd.Root().PersistentFlags().Lookup(name) && f.Changed
	}
	out, format := chosen("output"), chosen("format")
	if format {
		if a.format != "text" && a.format != "json" {
			return usageErrorf("--format %q: want text or json", a.format)
		}
		if out && a.output != a.format {
			return usageErrorf("--output %s and --format %s disagree: give one of them", a.output, a.format)
		}
		a.output = a.format
	}
	if a.output != "text" && a.output != "json" {
		return usageErrorf("--output %q: want text or json", a.output)
	}
	return nil
}

// logger returns the logger for the level the flags ask: warnings by
// default, info with --verbose, debug with --debug. It writes to stderr.
func (a *app) logger() *slog.Logger {
	level := slog.LevelWarn
	switch {
	case a.debug:
		level = slog.LevelDebug
	case a.verbose:
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
}

// json reports whether the output format is JSON.
func (a *app) json() bool { return a.output == "json" }

// render writes v as indented JSON with --output json, or calls text.
func (a *app) render(v any, text func(w io.Writer) error) error {
	if a.json() {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return text(a.stdout)
}

// renderDigest renders v, whose text form is the digest d on a line: the
// output of the commands that write one manifest.
func (a *app) renderDigest(v any, d digest.Digest) error {
	return a.render(v, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, d)
		return err
	})
}

// targetFlags are the flags that say how to open a TARGET. Commands that take
// a target register them with addTo and open it with open.
type targetFlags struct {
	ociLayout      bool
	plainHTTP      bool
	registryConfig string
	timeout        time.Duration
	idleTimeout    time.Duration
	remote         remoteFlags
}

func (t *targetFlags) addTo(fs *pflag.FlagSet) {
	fs.BoolVar(&t.ociLayout, "oci-layout", false, "TARGET is an OCI image layout directory (or, for reading, a tar file): PATH[:tag|@digest]")
	fs.BoolVar(&t.plainHTTP, "plain-http", false, "talk to the registry over plain HTTP instead of HTTPS (never a silent fallback)")
	fs.StringVar(&t.registryConfig, "registry-config", "", "path of a Docker-style config file with registry credentials (default: the Docker config)")
	fs.DurationVar(&t.timeout, "timeout", target.DefaultTimeout, "longest a registry may take to answer a metadata request (manifest, tag, referrers, token) in full")
	fs.DurationVar(&t.idleTimeout, "idle-timeout", target.DefaultIdleTimeout, "longest a registry may send or take no byte (blob transfers included) before the command fails")
	t.remote.addTo(fs, "", "")
}

func (t *targetFlags) open(ctx context.Context, ref string, readOnly bool) (*target.Target, error) {
	return target.Open(ctx, ref, readOnly, target.Options{
		OCILayout:      t.ociLayout,
		PlainHTTP:      t.plainHTTP,
		RegistryConfig: t.registryConfig,
		Timeout:        t.timeout,
		IdleTimeout:    t.idleTimeout,
		Insecure:       t.remote.insecure,
		CAFile:         t.remote.caFile,
		CertFile:       t.remote.certFile,
		KeyFile:        t.remote.keyFile,
		Username:       t.remote.username,
		Password:       t.remote.password,
	})
}

// usageError marks bad flags or arguments: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exactArgs is cobra.ExactArgs with a usage error naming the arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usageErrorf("%s takes %d argument(s), %s; got %d", cmd.CommandPath(), len(names), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// hint says which flag of cmd addresses err, for the errors whose remedy
// is a flag: the library names no flags, the command line does.
func hint(cmd *cobra.Command, err error) string {
	has := func(flag string) bool { return cmd != nil && cmd.Flags().Lookup(flag) != nil }
	switch {
	case errors.Is(err, pack.ErrNoWithholdSecret) && has("withhold-secret-file"):
		return "Set --withhold-secret-file FILE (or RUNID_WITHHOLD_SECRET_FILE) to the owner's secret; make one with: head -c 32 /dev/urandom > FILE"
	case errors.Is(err, scan.ErrSecretFound) && has("allow-secrets"):
		return "If the component must be pushed as it is, use --allow-secrets."
	case errors.Is(err, fs.ErrExist) && has("force"):
		return "Use --force to overwrite."
	case errors.As(err, new(*target.StallError)):
		return "Change the limits with --idle-timeout and --timeout."
	}
	return registryHint(cmd, err)
}

// exitCode maps an error to the exit code.
func exitCode(err error) int {
	var ue usageError
	var ve *pull.VerificationError
	switch {
	case errors.As(err, &ve), errors.Is(err, pull.ErrVerification):
		return exitNotVerify
	case errors.As(err, &ue), errors.Is(err, target.ErrInvalidReference):
		return exitUsage
	}
	return exitError
}
