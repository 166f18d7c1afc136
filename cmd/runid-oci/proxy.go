package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pack/capture/telemetry"
	"github.com/runid/runid-oci/pack/sign"
)

func newProxyCmd(a *app) *cobra.Command {
	var tf targetFlags
	var sf signFlags
	var pf policyFlags
	var (
		listen, upstream, onStoreError, provider string
		rejectUnrecorded, allowSecrets           bool
		maxRequestBody, maxRecordedResponse      int64
	)
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --upstream URL TARGET",
		Short: "Run a recording proxy in front of a model API: each request gets an identity before it is forwarded",
		Long: `Listen on ADDR and forward requests to the model API at URL, recording
them in TARGET, an OCI registry repository or (with --oci-layout) an OCI
image layout directory. Point the agent's base URL at the proxy.

Each POST to a path ending in /chat/completions (OpenAI Chat Completions),
/responses (OpenAI Responses) or /messages (Anthropic Messages) is imported
as a run (as "runid-oci import" does) and its identity is pushed to TARGET
(and signed with --key) before the request is forwarded. The response
carries the identity digest in the Runid-Identity header and the execution's
instance ID in Runid-Instance. Responses, server-sent event streams
included, pass through as they arrive; once a response has ended it is
attached to the identity as an output record, with the facts of that
execution (instanceId, startedAt, endedAt, status, servedModel, httpStatus,
upstream, error...), and signed with --key. An upstream that fails still
leaves the identity, with a record whose status is failed.

A request that cannot be declared (TARGET fails, or the body is not a
request of its format or holds what looks like a credential) is refused
with a JSON error (502 or 400) and not forwarded; with
--on-store-error forward it is forwarded without an identity. Other
requests (GET /v1/models...) pass through unrecorded, or get 404 with
--reject-unrecorded.

With --policy FILE.rego (repeatable; a directory of .rego files too), each
request's run is evaluated (OPA, Rego v1, data.runid.deny) before it is
forwarded; policies are compiled once at start, again on SIGHUP. A denied
request is never forwarded: it gets 403 with the denial messages, its identity
is still declared, and its output record has status failed, the error and the
fact denied (the messages). A policy that cannot be evaluated denies; a
request that cannot be imported is refused even with --on-store-error
forward. The proxy signs after it decides, so the policy input lists no
signatures. See docs/policy.md.

Headers, Authorization and x-api-key included, pass to the upstream
untouched and are never recorded or logged. One log line per request goes
to stderr (identity, status, duration). The proxy runs until interrupted
(SIGINT, SIGTERM), then waits for pending records.

With --oci-layout, each identity is flushed to disk (in the layout's
journal) before its request is forwarded, and listed in the layout's
index.json a moment later, in the background; other runid-oci processes
may write the same layout at once.

Tracing is configured by OpenTelemetry's environment variables
(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
OTEL_TRACES_SAMPLER, ...) and off without them: a span per recorded or
denied request, carrying runid.identity and runid.record. See
docs/telemetry.md.`,
		Example: `  runid-oci proxy --listen 127.0.0.1:8080 --upstream https://api.openai.com --oci-layout ./runs
  OPENAI_BASE_URL=http://127.0.0.1:8080/v1 my-agent
  runid-oci proxy --listen 127.0.0.1:8080 --upstream https://api.openai.com --policy policies/ --oci-layout ./runs
  COSIGN_PASSWORD=... runid-oci proxy --listen :8080 --upstream https://api.anthropic.com --key cosign.key registry.example/runs`,
		Args: exactArgs("TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			stopMemoryLimit() // its heap grows with the layout it serves, for hours
			ctx := cmd.Context()
			if listen == "" || upstream == "" {
				return usageErrorf("--listen ADDR and --upstream URL are required")
			}
			policy, err := proxy.ParsePolicy(onStoreError)
			if err != nil {
				return usageErrorf("--on-store-error %q: want fail or forward", onStoreError)
			}
			up, err := url.Parse(upstream)
			if err != nil || !up.IsAbs() || up.Host == "" {
				return usageErrorf("--upstream %q: want an absolute http or https URL", upstream)
			}
			t, err := tf.open(ctx, args[0], false)
			if err != nil {
				return err
			}
			if t.Reference != "" {
				return usageErrorf("TARGET %s names a tag or digest; give the repository or layout only", args[0])
			}
			store, err := t.Writable()
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if a.debug {
				level = slog.LevelDebug
			}
			opts := proxy.Options{
				Logger:              slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level})),
				OnStoreError:        policy,
				RejectUnrecorded:    rejectUnrecorded,
				Provider:            provider,
				AllowSecrets:        allowSecrets,
				MaxRequestBody:      maxRequestBody,
				MaxRecordedResponse: maxRecordedResponse,
			}
			if sf.key != "" {
				signer, err := a.loadSigner(sf.key)
				if err != nil {
					return err
				}
				so := sign.SignOptions{Logger: opts.Logger}
				if sf.bundle {
					so.Format = sign.SignatureFormatBundle
				}
				opts.Sign = sign.Hook(signer, so)
			} else if sf.bundle {
				return usageErrorf("--new-bundle-format needs --key")
			}
			if opts.Decide, err = pf.proxyDecider(ctx, opts.Logger); err != nil {
				return err
			}
			// Tracing is configured by the OTEL_* environment variables
			// and off without them.
			tp, err := telemetry.Setup(ctx, telemetry.SetupOptions{Logger: opts.Logger})
			if err != nil {
				return err
			}
			if tp != nil {
				opts.Tracer = telemetry.NewTracer(telemetry.Options{TracerProvider: tp})
				defer func() {
					sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
					defer cancel()
					if err := tp.Shutdown(sctx); err != nil {
						opts.Logger.Warn("telemetry: spans not exported at exit", "error", err)
					}
				}()
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			fmt.Fprintf(a.stderr, "listening on %s\n", ln.Addr())
			return proxy.Serve(ctx, ln, store, up, opts)
		},
	}
	f := cmd.Flags()
	tf.addTo(f)
	sf.addTo(f, false)
	pf.addTo(f, "evaluate each request's run with these policies before forwarding it")
	f.StringVar(&listen, "listen", "", "address to listen on, HOST:PORT (port 0 picks a free one; the address is printed on stderr)")
	f.StringVar(&upstream, "upstream", "", "base URL of the model API, e.g. https://api.openai.com; its path is put before each request's path")
	f.StringVar(&onStoreError, "on-store-error", "fail", "a request that cannot be declared: fail (refuse it, never forward an undeclared run) or forward (forward it unrecorded)")
	f.BoolVar(&rejectUnrecorded, "reject-unrecorded", false, "answer 404 to requests the proxy does not record, instead of passing them through")
	f.StringVar(&provider, "provider", "", "model provider recorded in the identity (default: openai or anthropic, from the API)")
	f.BoolVar(&allowSecrets, "allow-secrets", false, "declare request bodies, and record response bodies, in which the credential scan finds something (by default they are neither declared nor recorded)")
	f.Int64Var(&maxRequestBody, "max-request-body", proxy.DefaultMaxRequestBody, "largest request body recorded, in bytes")
	f.Int64Var(&maxRecordedResponse, "max-recorded-response", proxy.DefaultMaxRecordedResponse, "largest response body recorded, in bytes (the client still gets all of it; the record says truncated)")
	return cmd
}
