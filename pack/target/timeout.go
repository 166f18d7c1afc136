package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"oras.land/oras-go/v2/registry/remote/retry"
)

// Defaults of the timeouts of remote registries (spec/SPEC.md §11.1). A
// registry that stops sending (or taking) bytes fails the command instead
// of holding it.
const (
	// DefaultDialTimeout bounds opening a TCP connection.
	DefaultDialTimeout = 30 * time.Second
	// DefaultTLSHandshakeTimeout bounds a TLS handshake.
	DefaultTLSHandshakeTimeout = 30 * time.Second
	// DefaultIdleTimeout bounds every wait for the registry: for the next
	// bytes of a response body, for the registry to take the next bytes of
	// a request body, and for the response headers once the request is
	// sent (a registry that checks a large upload answers its last PUT
	// only once it has hashed it).
	DefaultIdleTimeout = 60 * time.Second
	// DefaultTimeout bounds a whole metadata request, from sending it to
	// the end of the answer's body: manifests, tags, referrers listings,
	// tokens; everything but blob transfers, which may take long however
	// fast the registry is and are bounded by the idle timeout only.
	DefaultTimeout = 2 * time.Minute
)

// StallError is a registry request that failed because the registry sent
// or took no byte for the idle timeout, or did not answer a metadata
// request in the whole timeout. It does not wrap context errors, so that
// a caller tells it from its own cancellation.
type StallError struct {
	// Method and URL name the request.
	Method, URL string
	// Idle is set when the idle timeout ran out, Total when the whole
	// timeout of a metadata request did.
	Idle, Total time.Duration
	// What says what was waited for: "response headers", "response body"
	// or "request body".
	What string
}

func (e *StallError) Error() string {
	if e.Total > 0 {
		return fmt.Sprintf("%s %s: no complete answer in %s (the registry request timeout)", e.Method, e.URL, e.Total)
	}
	return fmt.Sprintf("%s %s: the registry stalled: no progress on the %s for %s (the idle timeout)", e.Method, e.URL, e.What, e.Idle)
}

// Timeout reports true: it is a timeout, as net.Error says.
func (e *StallError) Timeout() bool { return true }

// Temporary reports true (net.Error).
func (e *StallError) Temporary() bool { return true }

var _ net.Error = (*StallError)(nil)

// timeouts returns the timeouts of o with their defaults.
func (o Options) timeouts() (idle, total time.Duration) {
	idle, total = o.IdleTimeout, o.Timeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	if total <= 0 {
		total = DefaultTimeout
	}
	return idle, total
}

// maxIdleConnsPerHost is how many idle connections to one registry the
// client keeps for its next requests. net/http keeps 2 by default: a push
// or pull that sends 8 requests at once then closes most connections as
// their requests end and opens new ones for the next, a TCP handshake (and
// a TLS one) per request on both sides. It is at least the largest number
// of requests pack and pull send at once.
const maxIdleConnsPerHost = 32

// NewHTTPClient returns the client Open uses for remote registries when
// Options.HTTPClient is nil: TLS as o says (Insecure, CAFile, CertFile and
// KeyFile), dial, TLS handshake, idle and total timeouts as o says
// (defaults above), and oras-go's retries (5xx, 408, 429, a
// reset connection) for GET and HEAD requests only, the ones that are safe
// to send again. A stall is not retried here: a registry that sent nothing
// for the idle timeout is likely to do it again, and each retry would cost
// that long again (the blob fetches of pull and verify retry a failed
// transfer a few times, as they do any failed transfer).
func NewHTTPClient(o Options) (*http.Client, error) {
	idle, total := o.timeouts()
	tlsConf, err := o.tlsConfig()
	if err != nil {
		return nil, err
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsConf
	base.DialContext = dialProgress((&net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext)
	base.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	base.MaxIdleConnsPerHost = maxIdleConnsPerHost
	tt := &timeoutTransport{base: base, idle: idle, total: total}
	rt := retry.NewTransport(tt)
	rt.Policy = func() retry.Policy { return noStallRetry }
	return &http.Client{Transport: safeRetry{retry: rt, once: tt}}, nil
}

// noStallRetry is oras-go's default retry policy, except for stalls.
var noStallRetry = &retry.GenericPolicy{
	Retryable: func(resp *http.Response, err error) (bool, error) {
		var se *StallError
		if errors.As(err, &se) {
			return false, err
		}
		return retry.DefaultPredicate(resp, err)
	},
	Backoff:  retry.DefaultBackoff,
	MinWait:  200 * time.Millisecond,
	MaxWait:  3 * time.Second,
	MaxRetry: 5,
}

// safeRetry retries GET and HEAD requests; others are sent once.
type safeRetry struct {
	retry, once http.RoundTripper
}

func (s safeRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return s.retry.RoundTrip(req)
	}
	return s.once.RoundTrip(req)
}

// timeoutTransport bounds each request: an idle timer cancels a request
// that makes no progress. It runs from the start of the request to its
// response headers, reset by every read of the request body (the
// transport reads it as the registry takes it), and then during each read
// of the response body only, so that a caller slow to read is not taken
// for a stalled registry. A metadata request also has a deadline for the
// whole exchange.
type timeoutTransport struct {
	base        http.RoundTripper
	idle, total time.Duration
}

// smallBodyMax is the largest request body of a known length that is
// passed to net/http as it is, not read through the idle timer: it fits in
// the socket's buffers, so sending it never waits for the registry, and the
// idle timer then runs from the start of the request to its answer. A body
// net/http can see is in memory (a bytes.Reader, as pack sends small blobs)
// then goes out in the same write as the headers, where a wrapped body has
// the headers flushed in a write of their own first: one system call fewer
// per small upload, on each side.
const smallBodyMax = 64 << 10

// smallBody reports whether req's body is one of at most smallBodyMax
// bytes, by its declared length.
func smallBody(req *http.Request) bool {
	return req.ContentLength > 0 && req.ContentLength <= smallBodyMax
}

// isBlobTransfer reports whether a request moves blob bytes: a blob
// fetch, or an upload (POST, PATCH, PUT under /blobs/uploads/). Those
// have no whole-request deadline.
func isBlobTransfer(req *http.Request) bool {
	return strings.Contains(req.URL.Path, "/blobs/")
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	st := &stall{cancel: cancel, idle: t.idle, err: &StallError{Method: req.Method, URL: redactURL(req), Idle: t.idle}}
	// what is set before the timers start: they read it when they fire.
	hasBody := req.Body != nil && req.Body != http.NoBody && !smallBody(req)
	// A file body goes to net/http as it is, so that it sends it with the
	// kernel's zero-copy path; the connection then reports the progress
	// (sendIdle). Any other body is read through the idle timer.
	file := hasBody && fileBody(req)
	wrap := hasBody && !file
	st.what = "response headers"
	if hasBody {
		st.what = "request body"
	}
	if !isBlobTransfer(req) {
		total := time.AfterFunc(t.total, func() {
			st.fire(&StallError{Method: req.Method, URL: redactURL(req), Total: t.total})
		})
		st.stops = append(st.stops, total.Stop)
	}
	st.timer = time.AfterFunc(t.idle, func() {
		st.fire(nil)
	})
	if file {
		ctx = sendIdle(ctx, st)
	}
	// A shallow copy: the request's headers and URL are only read below,
	// and a deep copy per request is a fifth of what a push of thousands
	// of small blobs allocates.
	r2 := req.WithContext(ctx)
	if wrap {
		r2.Body = &idleBody{rc: req.Body, st: st, after: "response headers"}
	}
	resp, err := t.base.RoundTrip(r2)
	if err != nil {
		st.close()
		if se := st.fired(); se != nil {
			return nil, se
		}
		return nil, err
	}
	st.timer.Stop()
	st.mu.Lock()
	st.what = "response body"
	st.mu.Unlock()
	resp.Body = &idleBody{rc: resp.Body, st: st, response: true}
	return resp, nil
}

// sendIdle returns ctx with a trace that has the connection carrying a
// file body reset the idle timer after each chunk it sends (progressConn),
// and wait for the response headers once the body is sent. On a connection
// that cannot report progress (one a proxy made, say), the idle timer
// stops while the body is sent.
func sendIdle(ctx context.Context, st *stall) context.Context {
	reset := st.resetIdle
	var pc *progressConn
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if c, ok := info.Conn.(*progressConn); ok {
				pc = c
				c.progress.Store(&reset)
				return
			}
			st.timer.Stop()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			if pc != nil {
				pc.progress.CompareAndSwap(&reset, nil)
			}
			st.mu.Lock()
			st.what = "response headers"
			st.mu.Unlock()
			st.resetIdle()
		},
	})
}

// stall is the state of one request's timers.
type stall struct {
	idle   time.Duration
	cancel context.CancelCauseFunc
	timer  *time.Timer
	stops  []func() bool

	mu     sync.Mutex
	what   string
	closed bool        // the request is over: its timers stay stopped
	err    *StallError // what fire reports
	hit    *StallError // set once fired
}

// fire cancels the request with se, or with the idle error when se is nil.
func (s *stall) fire(se *StallError) {
	s.mu.Lock()
	if s.hit == nil {
		if se == nil {
			e := *s.err
			e.What = s.what
			se = &e
		}
		s.hit = se
	}
	hit := s.hit
	s.mu.Unlock()
	s.cancel(hit)
}

func (s *stall) fired() *StallError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hit
}

// resetIdle restarts the idle timer, unless the request is over.
func (s *stall) resetIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.timer.Reset(s.idle)
	}
}

func (s *stall) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.timer.Stop()
	for _, stop := range s.stops {
		stop()
	}
	s.cancel(context.Canceled)
}

// idleBody resets the idle timer on every read, and turns the error of a
// read cut by a timer into the timer's *StallError.
type idleBody struct {
	rc       io.ReadCloser
	st       *stall
	response bool   // the response body: Close ends the request
	after    string // for a request body: what is waited for once it is read
	once     sync.Once
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.st.timer.Reset(b.st.idle)
	n, err := b.rc.Read(p)
	if b.response {
		b.st.timer.Stop()
	}
	if err != nil {
		if se := b.st.fired(); se != nil && !errors.Is(err, io.EOF) {
			return n, se
		}
		if !b.response && errors.Is(err, io.EOF) {
			b.st.mu.Lock()
			b.st.what = b.after
			b.st.mu.Unlock()
		}
	}
	return n, err
}

func (b *idleBody) Close() error {
	err := b.rc.Close()
	if b.response {
		b.once.Do(b.st.close)
	}
	return err
}

// redactURL is the request's URL without its query (which may hold a
// token or a signed upload location's credentials).
func redactURL(req *http.Request) string {
	u := *req.URL
	u.RawQuery, u.User = "", nil
	return u.String()
}
