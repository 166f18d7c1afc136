// Package proxy is a recording reverse proxy for model APIs: it sits
// between an agent and its model endpoint and gives every request a run
// identity before the request is forwarded.
//
// For each request that it records (a POST whose path ends with one of
// Options.Formats, such as /v1/chat/completions), the Handler:
//
//  1. reads the body (at most Options.MaxRequestBody bytes) and imports it
//     with package importer into a composition, whose digest is the run's
//     identity; the identity holds no time, host or credential, so the
//     same request always has the same identity;
//  2. declares the identity: pushes it to the store (pack.Push) and, with
//     Options.Sign, signs it, before anything is sent
//     upstream;
//  3. forwards the request, with every header as the agent sent it
//     (Authorization, x-api-key... reach the upstream untouched), and
//     answers with the upstream's response, adding the identity digest in
//     the Runid-Identity header and the execution's instance ID in the
//     Runid-Instance header. Server-sent events (text/event-stream) and
//     other responses without a length pass through as they arrive, each
//     write flushed, while a copy of the body is kept (in memory up to
//     1 MiB, then in a temporary file; at most Options.MaxRecordedResponse
//     bytes);
//  4. once the response has been sent, attaches the recorded body as an
//     output record of the identity (referrer.Attach), in the background,
//     with the facts of that execution: instanceId, startedAt, endedAt,
//     status (succeeded, failed, cancelled), servedModel (the model the
//     response reports), and httpStatus, upstream, format,
//     responseBytes, upstreamRequestId, error and truncated when they
//     apply; with Options.Sign the record is signed too. Shutdown
//     waits for these.
//
// # Failures
//
// An upstream that cannot be reached, answers an error status, or breaks
// off its response leaves the declared identity with an output record
// whose status is failed and whose error fact says why; the client gets
// the upstream's response, or a 502 with a JSON error body. A client that
// goes away before the end gives a cancelled record.
//
// A request that cannot be declared is, by default (FailClosed), refused
// and never forwarded: a store failure answers 502, a body that is not a
// request of its format or holds what looks like a credential 400, a body
// over Options.MaxRequestBody 413. The body of such an answer is
// {"type":"error","error":{"type":"runid_undeclared","code":...,"message":...}},
// a shape that OpenAI and Anthropic clients both report. With
// ForwardUndeclared the request is forwarded anyway, without an identity
// header and without a record, and a warning is logged.
//
// # Deciding on requests
//
// With Options.Decide (runid-oci proxy --policy), each recorded request's
// composition is decided on before it is forwarded. A denied request is
// never sent upstream: its identity is still declared, the client gets
// 403 with the reasons in the same JSON shape (error type runid_denied,
// code policy_denied), and its output record has status failed, the error
// and the fact denied. A request that cannot be imported cannot be decided
// on and is refused even with ForwardUndeclared.
//
// Requests the proxy does not record (other methods and paths, such as
// GET /v1/models) pass through unchanged, unless Options.RejectUnrecorded
// is set (404).
//
// # Credentials
//
// Headers are never imported, logged or stored: credentials reach the
// upstream and nothing else. An upstream that echoes the request's
// credential headers (Authorization, x-api-key, api-key, and any header
// whose name says key, token, secret, auth or cookie) in its response
// body or request ID does not get them stored: their values are replaced
// with Redacted in the record, whose credentialsRedacted fact counts the
// places. The recorded body is then scanned as pack.Push scans a
// disclosed component; a body with a finding is left out of the record
// (its bodyNotRecorded fact lists the findings, never the credentials)
// unless Options.AllowSecrets. Credential fields in a body are dropped by
// the importer; a body in which pack.Push's scan finds what looks like a
// credential is refused unless Options.AllowSecrets. Logs carry the
// method, the path (never the query), the identity, the status and the
// duration; the upstream fact is the upstream URL without its query.
//
// # Encoding
//
// For recorded requests the proxy removes Accept-Encoding, so that Go's
// transport asks for gzip itself and decodes it: the record holds the
// decoded body, and the client receives it decoded.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/singleflight"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/scan"
)

// Request formats, the values of Options.Formats (package importer's).
const (
	// FormatOpenAIChat is an OpenAI Chat Completions request.
	FormatOpenAIChat = capture.FormatOpenAIChat
	// FormatOpenAIResponses is an OpenAI Responses request.
	FormatOpenAIResponses = capture.FormatOpenAIResponses
	// FormatAnthropicMessages is an Anthropic Messages request.
	FormatAnthropicMessages = capture.FormatAnthropicMessages
)

// Policy says what the proxy does with a request it should record but
// cannot declare.
type Policy int

const (
	// FailClosed refuses the request with an error response; the upstream
	// is not called. The default.
	FailClosed Policy = iota
	// ForwardUndeclared forwards the request anyway, without an identity
	// and without a record, and logs a warning.
	ForwardUndeclared
)

// String returns "fail" or "forward".
func (p Policy) String() string {
	switch p {
	case FailClosed:
		return "fail"
	case ForwardUndeclared:
		return "forward"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy parses "fail" or "forward" (the CLI's --on-store-error).
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "fail":
		return FailClosed, nil
	case "forward":
		return ForwardUndeclared, nil
	}
	return 0, fmt.Errorf("%w: policy %q: want fail or forward", ErrOptions, s)
}

// Defaults of Options.
const (
	// DefaultMaxRequestBody caps a recorded request body: 32 MiB.
	DefaultMaxRequestBody = 32 << 20
	// DefaultMaxRecordedResponse caps the recorded copy of a response
	// body: 64 MiB. The client still receives all of it.
	DefaultMaxRecordedResponse = 64 << 20
	// DefaultIdentityHeader is the response header holding the identity
	// digest.
	DefaultIdentityHeader = "Runid-Identity"
	// DefaultInstanceHeader is the response header holding the instance ID
	// of the execution, the instanceId fact of its output record.
	DefaultInstanceHeader = "Runid-Instance"
	// DefaultStoreTimeout bounds declaring one identity, and recording one
	// output record.
	DefaultStoreTimeout = time.Minute
	// DefaultShutdownTimeout bounds the graceful shutdown of Serve.
	DefaultShutdownTimeout = 30 * time.Second
)

// DefaultFormats maps path suffixes to importer formats:
// /chat/completions to openai-chat, /responses to openai-responses,
// /messages to anthropic-messages. A suffix matches at a path segment
// boundary, so /v1/chat/completions and
// /openai/deployments/d/chat/completions are both openai-chat, and
// /v1/messages/count_tokens is not recorded.
func DefaultFormats() map[string]string {
	return map[string]string{
		"/chat/completions": capture.FormatOpenAIChat,
		"/responses":        capture.FormatOpenAIResponses,
		"/messages":         capture.FormatAnthropicMessages,
	}
}

// SignFunc signs the manifest that ref names in target and reports
// whether it wrote anything (false when it was already signed).
type SignFunc func(ctx context.Context, target oras.Target, ref string) (wrote bool, err error)

// Options configure a Handler. The zero value is valid.
type Options struct {
	// Logger receives one info line per request (method, path, format,
	// identity, instance, HTTP status, outcome, duration), warnings for
	// undeclared forwards and errors for records that could not be
	// attached. Never a header, a query or a body. Default: discard.
	Logger *slog.Logger
	// Sign, if set, signs every identity declared and every output record
	// attached; sign.Hook (package pack/sign) makes one from a key.
	Sign SignFunc
	// OnStoreError says what happens to a request that should be
	// recorded but cannot be declared: the store failed, or the body
	// cannot be imported. Default: FailClosed.
	OnStoreError Policy
	// Formats maps path suffixes (each starting with "/") to importer
	// formats; POST requests whose path ends with one are recorded, the
	// longest suffix winning. Default: DefaultFormats().
	Formats map[string]string
	// RejectUnrecorded answers 404 to requests that are not recorded,
	// instead of passing them through unrecorded.
	RejectUnrecorded bool
	// Provider is recorded as the model's provider (importer
	// Options.Provider). Default: from the format.
	Provider string
	// AllowSecrets declares bodies in which pack.Push's scan finds what
	// looks like a credential (PushOptions.AllowSecrets). By default such
	// a request cannot be declared (see OnStoreError). It also records
	// response bodies in which that scan finds something; by default they
	// are left out of the record (the bodyNotRecorded fact says why).
	AllowSecrets bool
	// MaxRequestBody caps the body of a recorded request.
	// Default: DefaultMaxRequestBody.
	MaxRequestBody int64
	// MaxRecordedResponse caps the recorded copy of a response body; a
	// longer one is recorded truncated, with the facts truncated: true and
	// responseBytes, the full length. Default: DefaultMaxRecordedResponse.
	MaxRecordedResponse int64
	// IdentityHeader names the response header holding the identity
	// digest. Default: DefaultIdentityHeader.
	IdentityHeader string
	// InstanceHeader names the response header holding the instance ID.
	// Default: DefaultInstanceHeader.
	InstanceHeader string
	// TempDir is where response bodies over 1 MiB are recorded until
	// attached (shorter ones are kept in memory). Default: os.TempDir().
	TempDir string
	// StoreTimeout bounds declaring one identity and recording one output
	// record. Default: DefaultStoreTimeout.
	StoreTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown of Serve.
	// Default: DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Transport sends requests upstream. Default: a clone of
	// http.DefaultTransport keeping up to 64 idle connections per host.
	Transport http.RoundTripper
	// IndexSaveInterval applies when the store is an OCI layout
	// (*oci.Store): New turns its AutoSaveIndex off and the handler saves
	// index.json at most this often, and at Shutdown (which turns
	// AutoSaveIndex back on). The index lists every manifest of the
	// layout and is rewritten whole; when a save takes longer than a
	// tenth of the interval, the next one waits ten times as long as it
	// took, so that saving takes about a tenth of one core at most. An
	// identity's blobs and manifest are in the layout's blobs before its
	// request is forwarded, so another process can resolve and verify it
	// by digest at once; its index.json entry,
	// and the records' (which Discover needs), follow within the
	// interval. A negative value keeps oci.Store's behaviour: the whole
	// index is rewritten on every manifest push, which serialises
	// concurrent requests. Default: DefaultIndexSaveInterval.
	IndexSaveInterval time.Duration
	// Decide, if set, decides on each recorded request's composition
	// (the run it would be) before the request is forwarded, from the
	// goroutine serving it; it must be safe for concurrent use. A denied
	// request is never forwarded: its identity is still declared, the
	// client gets 403 with the reasons, and its output record has status
	// failed, the error "denied by policy: ..." and the fact denied (the
	// reasons). With Decide set, a request that cannot be imported (so
	// cannot be decided on) is refused even with ForwardUndeclared.
	Decide func(ctx context.Context, comp *pack.Composition) Decision
	// Tracer, if set, starts a span for every recorded request that is
	// forwarded or denied; the span's trace context is sent upstream and
	// its IDs become the output record's traceId and spanId facts. See
	// pack/capture/telemetry.
	Tracer Tracer
	// OnRecord, if set, is called once for every recorded request, after
	// its output record was attached (or failed to be), from the goroutine
	// that attached it.
	OnRecord func(Record)
}

// Decision is the verdict of Options.Decide on one request.
type Decision struct {
	// Allowed lets the request be forwarded.
	Allowed bool
	// Reasons say why it is denied: in the 403 answer and the record.
	Reasons []string
}

// Record reports one recorded request, to Options.OnRecord.
type Record struct {
	// Identity is the identity digest.
	Identity digest.Digest
	// Output is the output record's digest; empty when it could not be
	// attached (Err says why; Err is also set when only signing failed).
	Output digest.Digest
	// InstanceID is the instanceId fact, also sent in the instance header.
	InstanceID string
	// Format is the importer format of the request.
	Format string
	// Status is the status fact: succeeded, failed or cancelled.
	Status string
	// HTTPStatus is the upstream's status code, or 0 if it did not answer.
	HTTPStatus int
	// Facts are the execution facts recorded.
	Facts map[string]any
	// Err is why the record could not be attached or signed, or nil.
	Err error
}

// route is one entry of Options.Formats.
type route struct{ suffix, format string }

// Handler is the recording proxy, an http.Handler. Make one with New; it
// is safe for concurrent use. Call Shutdown to wait for pending records.
type Handler struct {
	store    oras.Target
	upstream *url.URL
	opts     Options
	log      *slog.Logger
	routes   []route
	rp       *httputil.ReverseProxy
	declared singleflight.Group

	index *indexSaver // for an OCI layout store, or nil
	// deferred is the store whose index commits run in the background, or nil.
	deferred deferringStore

	mu      sync.Mutex
	closed  bool
	pending sync.WaitGroup
}

// New returns a proxy to upstream (an absolute http or https URL; its path
// is joined before each request's path, its query added to each request's
// query) that declares identities in store and attaches records there.
// A bad upstream fails with ErrUpstream, bad options with ErrOptions.
//
// store must be safe for concurrent use, as oras-go's remote
// repositories, OCI layout stores (oci.Store) and memory stores are.
// Identities and records are named by digest, which a memory store
// (memory.Store) resolves only when tagged so: the handler tags them by
// their digest there. A pack/layout store (what the CLI opens) has its
// index.json commits deferred (layout.Store.SetDeferIndex): each
// identity's manifest and blobs are flushed in the store's journal log
// before its request is forwarded, and index.json lists it a moment
// later, in a commit shared with the other requests, in the background;
// Shutdown waits for those commits. It shares the layout with other
// processes. An *oci.Store has its index.json saved in batches until
// Shutdown (see Options.IndexSaveInterval); no other process may write to
// that layout meanwhile (as with any two oci.Store writers).
func New(store oras.Target, upstream *url.URL, opts Options) (*Handler, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: no store", ErrOptions)
	}
	if upstream == nil || !upstream.IsAbs() || upstream.Host == "" || (upstream.Scheme != "http" && upstream.Scheme != "https") {
		return nil, fmt.Errorf("%w: want an absolute http or https URL, got %q", ErrUpstream, redactURL(upstream))
	}
	if upstream.User != nil {
		return nil, fmt.Errorf("%w: %s carries user information; the proxy sends no credentials of its own (the agent's headers pass through)", ErrUpstream, redactURL(upstream))
	}
	if upstream.Fragment != "" {
		return nil, fmt.Errorf("%w: %s has a fragment", ErrUpstream, redactURL(upstream))
	}
	o, routes, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{store: store, upstream: upstream, opts: o, log: o.Logger, routes: routes}
	if layout, ok := store.(*oci.Store); ok && o.IndexSaveInterval > 0 {
		h.index = newIndexSaver(layout, o.IndexSaveInterval, o.Logger)
	}
	if d, ok := store.(deferringStore); ok {
		d.SetDeferIndex(true)
		h.deferred = d
	}
	h.rp = &httputil.ReverseProxy{
		Rewrite:        h.rewrite,
		Transport:      o.Transport,
		ModifyResponse: h.modifyResponse,
		ErrorHandler:   h.upstreamError,
		ErrorLog:       log.New(logWriter{o.Logger}, "", 0),
		BufferPool:     copyBuffers{},
	}
	return h, nil
}

// copyBuffers lends ReverseProxy the 32 KB buffers it copies response
// bodies with, which it would otherwise allocate for every request.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (copyBuffers) Get() []byte { return *copyBufferPool.Get().(*[]byte) }

func (copyBuffers) Put(b []byte) {
	if cap(b) == 32<<10 {
		b = b[:cap(b)]
		copyBufferPool.Put(&b)
	}
}

func (o Options) withDefaults() (Options, []route, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OnStoreError != FailClosed && o.OnStoreError != ForwardUndeclared {
		return o, nil, fmt.Errorf("%w: OnStoreError %v", ErrOptions, o.OnStoreError)
	}
	if o.Formats == nil {
		o.Formats = DefaultFormats()
	}
	var routes []route
	for suffix, f := range o.Formats {
		if !strings.HasPrefix(suffix, "/") {
			return o, nil, fmt.Errorf("%w: Formats path %q does not start with /", ErrOptions, suffix)
		}
		if !slices.Contains(capture.Formats(), f) {
			return o, nil, fmt.Errorf("%w: Formats[%q] = %q: want one of %s", ErrOptions, suffix, f, strings.Join(capture.Formats(), ", "))
		}
		routes = append(routes, route{suffix, f})
	}
	slices.SortFunc(routes, func(a, b route) int { return len(b.suffix) - len(a.suffix) })
	if o.MaxRequestBody <= 0 {
		o.MaxRequestBody = DefaultMaxRequestBody
	}
	if o.MaxRecordedResponse <= 0 {
		o.MaxRecordedResponse = DefaultMaxRecordedResponse
	}
	if o.IdentityHeader == "" {
		o.IdentityHeader = DefaultIdentityHeader
	}
	if o.InstanceHeader == "" {
		o.InstanceHeader = DefaultInstanceHeader
	}
	for _, name := range []string{o.IdentityHeader, o.InstanceHeader} {
		if !validHeaderName(name) {
			return o, nil, fmt.Errorf("%w: header name %q", ErrOptions, name)
		}
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = DefaultStoreTimeout
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.IndexSaveInterval == 0 {
		o.IndexSaveInterval = DefaultIndexSaveInterval
	}
	if o.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		o.Transport = t
	}
	return o, routes, nil
}

// validHeaderName reports whether s is an HTTP token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// format returns the importer format of a request, or "" when it is not
// recorded.
func (h *Handler) format(r *http.Request) string {
	if r.Method != http.MethodPost {
		return ""
	}
	for _, rt := range h.routes {
		if strings.HasSuffix(r.URL.Path, rt.suffix) {
			return rt.format
		}
	}
	return ""
}

// ServeHTTP proxies one request, recording it when its method and path
// say so (see the package documentation).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "shutting_down", fmt.Errorf("runid-oci proxy: %w", ErrShutdown))
		return
	}
	h.pending.Add(1)
	h.mu.Unlock()
	recording := false
	defer func() {
		if !recording {
			h.pending.Done()
		}
	}()

	format := h.format(r)
	if format == "" {
		if h.opts.RejectUnrecorded {
			writeError(w, http.StatusNotFound, "not_recorded", fmt.Errorf("runid-oci proxy: %s %s is not a request this proxy records", r.Method, r.URL.Path))
			h.logRequest(r, "", "", "", http.StatusNotFound, "rejected", start)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() { h.logRequest(r, "", "", "", sw.code(), "passed through", start) }()
		h.rp.ServeHTTP(sw, r)
		return
	}

	body, err := readBody(r, h.opts.MaxRequestBody)
	if err != nil {
		var tl *tooLargeError
		if errors.As(err, &tl) && h.opts.OnStoreError == ForwardUndeclared && h.opts.Decide == nil {
			h.log.Warn("forwarding an undeclared run", "path", r.URL.Path, "format", format, "error", err)
			r.Body = readCloser{io.MultiReader(bytes.NewReader(tl.prefix), r.Body), r.Body}
			sw := &statusWriter{ResponseWriter: w}
			defer func() { h.logRequest(r, format, "", "", sw.code(), "forwarded undeclared", start) }()
			h.rp.ServeHTTP(sw, r)
			return
		}
		code, kind := http.StatusBadRequest, "unreadable_request"
		if tl != nil {
			code, kind = http.StatusRequestEntityTooLarge, "request_too_large"
		}
		writeError(w, code, kind, fmt.Errorf("runid-oci proxy: %w: %w", ErrUndeclared, err))
		h.logRequest(r, format, "", "", code, "refused", start)
		return
	}
	subject, dec, derr := h.declare(r.Context(), format, body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	if dec != nil && !dec.Allowed {
		recording = h.deny(w, r, format, body, subject, derr, dec.Reasons, start)
		return
	}
	if derr != nil {
		// Without a decision (the body could not be imported) a request
		// is never forwarded when the proxy decides on requests.
		if h.opts.OnStoreError == ForwardUndeclared && (h.opts.Decide == nil || dec != nil) {
			h.log.Warn("forwarding an undeclared run", "path", r.URL.Path, "format", format, "error", derr.err)
			sw := &statusWriter{ResponseWriter: w}
			defer func() { h.logRequest(r, format, "", "", sw.code(), "forwarded undeclared", start) }()
			h.rp.ServeHTTP(sw, r)
			return
		}
		writeError(w, derr.status, derr.kind, fmt.Errorf("runid-oci proxy: %w, so it was not forwarded: %w", ErrUndeclared, derr.err))
		h.logRequest(r, format, "", "", derr.status, "refused", start)
		h.log.Error("run not declared; request refused", "path", r.URL.Path, "format", format, "error", derr.err)
		return
	}

	id := subject.Digest
	ex := &exchange{h: h, format: format, subject: subject, instance: newInstanceID(), request: r}
	w.Header().Set(h.opts.IdentityHeader, id.String())
	w.Header().Set(h.opts.InstanceHeader, ex.instance)
	ctx := context.WithValue(r.Context(), exchangeKey{}, ex)
	sw := &statusWriter{ResponseWriter: w}
	recording = true
	defer func() {
		// ReverseProxy panics with http.ErrAbortHandler when the copy of
		// the response fails; the record is made either way.
		p := recover()
		ex.finish(p != nil, r.Context().Err())
		h.logRequest(r, format, id.String(), ex.instance, sw.code(), ex.outcome, start)
		go ex.record()
		if p != nil {
			panic(p)
		}
	}()
	ex.started = time.Now()
	if h.opts.Tracer != nil {
		greq, _ := capture.DescribeRequest(format, body, h.opts.Provider)
		ex.span = h.opts.Tracer.Start(r.Context(), TraceStart{Header: r.Header, Format: format, Request: greq, Identity: id, Instance: ex.instance, Start: start})
	}
	h.rp.ServeHTTP(sw, r.WithContext(ctx))
}

// logRequest writes the one info line of a request.
func (h *Handler) logRequest(r *http.Request, format, identity, instance string, status int, outcome string, start time.Time) {
	attrs := []any{"method", r.Method, "path", r.URL.Path}
	if format != "" {
		attrs = append(attrs, "format", format)
	}
	if identity != "" {
		attrs = append(attrs, "identity", identity, "instance", instance)
	}
	attrs = append(attrs, "status", status, "outcome", outcome, "duration", time.Since(start))
	h.log.Info("request", attrs...)
}

// declareError is a request that could not be declared: the HTTP status
// and error kind of the answer.
type declareError struct {
	status int
	kind   string
	err    error
}

// declare imports a body, asks Options.Decide about it (dec is nil without
// Decide or when the body cannot be imported), and declares its identity
// in the store, once for concurrent identical requests.
func (h *Handler) declare(ctx context.Context, format string, body []byte) (desc ocispec.Descriptor, dec *Decision, derr *declareError) {
	imp, err := capture.Import(ctx, format, body, capture.Options{Provider: h.opts.Provider})
	if err != nil {
		return ocispec.Descriptor{}, nil, &declareError{http.StatusBadRequest, "invalid_request", fmt.Errorf("not a %s request: %w", format, err)}
	}
	for _, w := range imp.Warnings {
		h.log.Debug("import warning", "format", format, "warning", w)
	}
	if h.opts.Decide != nil {
		d := h.opts.Decide(ctx, imp.Composition)
		dec = &d
	}
	desc, derr = h.push(ctx, imp)
	return desc, dec, derr
}

// push declares an imported request's identity in the store, once for
// concurrent identical requests.
func (h *Handler) push(ctx context.Context, imp *capture.Imported) (ocispec.Descriptor, *declareError) {
	d := imp.Composition.Digest()
	v, err, _ := h.declared.Do(d.String(), func() (any, error) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.opts.StoreTimeout)
		defer cancel()
		res, err := pack.Push(sctx, h.store, imp.Composition, pack.PushOptions{AllowSecrets: h.opts.AllowSecrets, Logger: h.log})
		if err != nil {
			return nil, err
		}
		if res.BlobsUploaded > 0 {
			h.index.changed()
		}
		if err := h.resolvable(sctx, res.Descriptor); err != nil {
			return nil, err
		}
		if h.opts.Sign != nil {
			wrote, err := h.opts.Sign(sctx, h.store, d.String())
			if err != nil {
				return nil, fmt.Errorf("sign identity: %w", err)
			}
			if wrote {
				h.index.changed()
			}
		}
		return res.Descriptor, nil
	})
	switch {
	case errors.Is(err, scan.ErrSecretFound):
		return ocispec.Descriptor{}, &declareError{http.StatusBadRequest, "credential_in_request", err}
	case err != nil:
		return ocispec.Descriptor{}, &declareError{http.StatusBadGateway, "store_unavailable", fmt.Errorf("declare %s: %w", d, err)}
	}
	return v.(ocispec.Descriptor), nil
}

// resolvable makes a pushed manifest resolvable by its digest in an oras
// memory store, which, unlike registries and OCI layouts, resolves tags
// only: Attach and Sign name the identity and the record by digest.
func (h *Handler) resolvable(ctx context.Context, desc ocispec.Descriptor) error {
	if m, ok := h.store.(*memory.Store); ok {
		if err := m.Tag(ctx, desc, desc.Digest.String()); err != nil {
			return fmt.Errorf("tag %s by its digest: %w", desc.Digest, err)
		}
	}
	return nil
}

// Shutdown stops accepting requests (new ones get 503) and waits until
// every request in flight has finished and its output record is attached,
// or ctx is done (its error is returned); then it saves the index.json of
// an OCI layout store (an oci.Store's, or the background commit of a
// pack/layout store). Stop the http.Server first
// (http.Server.Shutdown), so that no request is cut off.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	done := make(chan struct{})
	go func() {
		h.pending.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// Save what is recorded so far; the saver keeps running for the
		// records still pending.
		_ = h.index.flush()
		return fmt.Errorf("proxy shutdown: records still pending: %w", ctx.Err())
	}
	if err := h.index.close(); err != nil {
		return fmt.Errorf("proxy shutdown: %w", err)
	}
	if h.deferred != nil {
		if err := h.deferred.Sync(ctx); err != nil {
			return fmt.Errorf("proxy shutdown: list the recorded runs in the layout's index.json: %w", err)
		}
	}
	return nil
}

// deferringStore is a store that lists manifests in its index in the
// background once they are durable (pack/layout.Store), and waits for
// that with Sync.
type deferringStore interface {
	SetDeferIndex(on bool)
	Sync(ctx context.Context) error
}

// rewrite points a request at the upstream.
func (h *Handler) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(h.upstream)
	if ex := exchangeFrom(pr.In.Context()); ex != nil {
		if ex.span != nil {
			ex.span.Inject(pr.Out.Header)
		}
		// The transport then asks for gzip itself and decodes it, so that
		// the recorded body is the decoded one.
		pr.Out.Header.Del("Accept-Encoding")
	}
}

// modifyResponse starts recording a response.
func (h *Handler) modifyResponse(res *http.Response) error {
	ex := exchangeFrom(res.Request.Context())
	if ex == nil {
		return nil
	}
	res.Header.Del(h.opts.IdentityHeader)
	res.Header.Del(h.opts.InstanceHeader)
	ex.begin(res)
	return nil
}

// upstreamError answers a request whose upstream could not be reached.
func (h *Handler) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if ex := exchangeFrom(r.Context()); ex != nil {
		ex.upstreamErr = err
	}
	if r.Context().Err() != nil {
		w.WriteHeader(http.StatusBadGateway) // the client is gone
		return
	}
	writeError(w, http.StatusBadGateway, "upstream_unavailable", fmt.Errorf("runid-oci proxy: %w: %s", ErrUpstreamFailed, redactError(err)))
}

// writeError answers with a JSON error in a shape that OpenAI and
// Anthropic clients both report.
func writeError(w http.ResponseWriter, status int, kind string, err error) {
	var body struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Type = "error"
	body.Error.Type = "runid_undeclared"
	switch {
	case status == http.StatusBadGateway && kind == "upstream_unavailable":
		body.Error.Type = "runid_upstream_error"
	case status == http.StatusForbidden:
		body.Error.Type = "runid_denied"
	}
	body.Error.Code, body.Error.Message = kind, err.Error()
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// tooLargeError is a request body over the cap; prefix is what was read.
type tooLargeError struct {
	max    int64
	prefix []byte
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("request body over %d bytes (Options.MaxRequestBody)", e.max)
}

// readBody reads a request body of at most max bytes.
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, &tooLargeError{max: max}
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if int64(buf.Len()) > max {
		return nil, &tooLargeError{max: max, prefix: buf.Bytes()}
	}
	return buf.Bytes(), nil
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// statusWriter remembers the status written. It keeps http.Flusher and
// the other interfaces reachable through Unwrap, for
// http.ResponseController, which ReverseProxy uses to flush.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush flushes the underlying writer, if it can.
func (w *statusWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int { return w.status }

// logWriter sends ReverseProxy's own log lines (errors copying a body) to
// the logger at debug level. They name no header.
type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.Debug(strings.TrimSpace(string(p)))
	return len(p), nil
}

// redactURL prints u without user information and query.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// redactError prints an upstream error without the URL's query (which may
// hold a key, as some providers accept).
func redactError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return fmt.Sprintf("%s %q: %v", ue.Op, redactURL(u), ue.Err)
		}
		return fmt.Sprintf("%s: %v", ue.Op, ue.Err)
	}
	return err.Error()
}

// Serve runs a Handler for store and upstream on ln until ctx is done,
// then shuts down gracefully: it stops accepting connections, waits for
// requests in flight and for their output records, at most
// opts.ShutdownTimeout, and closes ln. It returns nil after a clean
// shutdown, the error of New, of serving, or of a shutdown that timed out.
func Serve(ctx context.Context, ln net.Listener, store oras.Target, upstream *url.URL, opts Options) error {
	h, err := New(store, upstream, opts)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(logWriter{h.log}, "", 0),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		_ = h.Shutdown(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.opts.ShutdownTimeout)
	defer cancel()
	h.log.Info("shutting down", "timeout", h.opts.ShutdownTimeout)
	serr := srv.Shutdown(sctx)
	herr := h.Shutdown(sctx)
	<-served
	return errors.Join(serr, herr)
}
