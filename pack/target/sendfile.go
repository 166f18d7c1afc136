package target

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
)

// sendChunk is how many bytes of a file body progressConn hands to the
// kernel at a time (sendfile(2) on Linux) before it reports progress to
// the request's idle timer.
const sendChunk = 1 << 20

// progressConn is a TCP connection that sends a file request body in
// chunks of sendChunk, each with the kernel's zero-copy path that
// net.TCPConn.ReadFrom takes for a file, and calls the progress function
// of the request it is serving after each. net/http reaches it with the
// body only when the body is the *os.File itself (see fileBody): it then
// copies through the connection's ReadFrom, not through reads of the body
// that the idle timer could watch.
type progressConn struct {
	*net.TCPConn
	progress atomic.Pointer[func()]
}

// ReadFrom sends r. A file, or a file under net/http's io.LimitedReader
// of the body's length, goes in chunks with progress reported after each;
// anything else as net.TCPConn sends it.
func (c *progressConn) ReadFrom(r io.Reader) (int64, error) {
	p := c.progress.Load()
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		lr = &io.LimitedReader{R: r, N: 1<<63 - 1}
	}
	if _, isFile := lr.R.(*os.File); p == nil || !isFile {
		return c.TCPConn.ReadFrom(r)
	}
	var total int64
	for lr.N > 0 {
		n, err := c.TCPConn.ReadFrom(&io.LimitedReader{R: lr.R, N: min(lr.N, sendChunk)})
		total += n
		lr.N -= n
		(*p)()
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, nil
}

// dialProgress wraps dial so that TCP connections are progressConns.
func dialProgress(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok && err == nil {
			return &progressConn{TCPConn: tc}, nil
		}
		return c, err
	}
}

// fileBody reports whether req's body is an *os.File that net/http can
// send with the kernel's zero-copy path: a plain-HTTP request (no TLS
// layer between the file and the socket, and no HTTP/2 connection shared
// by several requests) of a known length.
func fileBody(req *http.Request) bool {
	_, ok := req.Body.(*os.File)
	return ok && req.URL.Scheme == "http" && req.ContentLength > 0
}
