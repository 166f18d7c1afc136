package proxy

import "errors"

// Sentinel errors of the proxy. Errors returned by this package wrap one of
// them, or an error of package pack, importer or the store; test with
// errors.Is.
var (
	// ErrUpstream: the upstream URL is missing, not absolute http(s), or
	// carries credentials (user information), which the proxy does not
	// send: the agent sends its own, in headers.
	ErrUpstream = errors.New("invalid upstream URL")
	// ErrOptions: an option has an invalid value (an unknown format in
	// Options.Formats, a path that does not start with "/", an unknown
	// policy, a header name that is not a token).
	ErrOptions = errors.New("invalid proxy options")
	// ErrUndeclared: a request that should be recorded could not be
	// declared (its body is unreadable, over Options.MaxRequestBody, not
	// a request of its format, or holds a credential; or the store
	// failed). With FailClosed it is refused with this error.
	ErrUndeclared = errors.New("run not declared")
	// ErrShutdown: the handler was shut down; it refuses new requests.
	ErrShutdown = errors.New("proxy shut down")
	// ErrUpstreamFailed: the upstream could not be reached or its
	// response could not be read to the end. It is reported in the output
	// record, and to the client as a 502 response.
	ErrUpstreamFailed = errors.New("upstream request failed")
)
