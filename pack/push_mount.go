package pack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Small blobs in two requests, on a registry without single-POST uploads.
//
// A small blob goes up with one POST that asks the repository to mount the
// blob from itself: a repository that has the blob answers 201 Created and
// nothing is sent; one that lacks it opens an upload session (202
// Accepted), to which one PUT sends the bytes with their digest, which the
// registry checks. Both requests are made here rather than through
// oras-go's Repository.Mount, so that the bytes of a blob up to
// inMemoryBodyMax are read into memory before the PUT: net/http then sends
// the request line, headers and body in one write, where a body it cannot
// see the end of (an open file) has its headers flushed in a write of
// their own first. On a registry that spends a millisecond of CPU per
// request, the client's cost per request (system calls, goroutine wake-ups)
// is what keeps a push of thousands of small blobs above the registry's
// floor.

// inMemoryBodyMax is the largest blob whose bytes are read into memory for
// its upload request; larger blobs are streamed from their file. It is
// well below the socket buffers of any system, so that sending such a
// request never waits for the registry to take bytes.
const inMemoryBodyMax = 64 << 10

// maxDrain caps how much of an answer's body is read before closing it, so
// that the connection can serve the next request.
const maxDrain = 4 << 10

// drainClose reads what is left of a (short) answer's body and closes it.
func drainClose(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
}

// mountOutcome is what a mount request found.
type mountOutcome int

const (
	mountRefused mountOutcome = iota // the registry refused the request itself
	mountFound                       // the repository has the blob (201)
	mountOpened                      // an upload session is open (202)
)

// mount asks the repository to mount desc from itself. For mountOpened it
// returns the request and the answer, whose Location is the session; err
// is set for mountRefused only when the request could not be made or the
// registry misbehaved (a 201 naming another digest). ctx carries the
// repository's authentication scope (pull and push), as Push sets it.
func (m *monolithic) mount(ctx context.Context, desc ocispec.Descriptor) (mountOutcome, *http.Request, *http.Response, error) {
	ref := m.repo.Reference
	u := url.URL{Scheme: m.scheme(), Host: ref.Host(), Path: "/v2/" + ref.Repository + "/blobs/uploads/",
		RawQuery: url.Values{"mount": {desc.Digest.String()}, "from": {ref.Repository}}.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return mountRefused, nil, nil, err
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return mountRefused, nil, nil, err
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		drainClose(resp)
		// A registry that names a digest must name this one (the blob is
		// not taken on its word either way: a manifest that refers to a
		// blob the registry lacks is refused when it is pushed).
		if d := resp.Header.Get("Docker-Content-Digest"); d != "" && digest.Digest(d) != desc.Digest {
			return mountRefused, nil, nil, fmt.Errorf("%s %s: the registry mounted %s, want %s", req.Method, req.URL.Path, d, desc.Digest)
		}
		return mountFound, nil, nil, nil
	case http.StatusAccepted:
		drainClose(resp)
		return mountOpened, req, resp, nil
	}
	defer resp.Body.Close()
	return mountRefused, nil, nil, errorResponse(resp)
}

func (m *monolithic) scheme() string {
	if m.repo.PlainHTTP {
		return "http"
	}
	return "https"
}

// pushMounted makes sure the repository has a small blob in one mount
// request and, if the repository lacks the blob, one PUT. done is false
// when the registry refused the mount request itself and nothing was sent:
// the blob is then to be checked and uploaded as on any target.
func (u *uploader) pushMounted(ctx context.Context, what, name string, desc ocispec.Descriptor, open opener) (done bool, err error) {
	outcome, post, resp, err := u.mono.mount(ctx, desc)
	switch outcome {
	case mountFound:
		u.found(name, desc)
		return true, nil
	case mountRefused:
		if ctx.Err() != nil {
			return true, fmt.Errorf("push %s: %w: %w", what, ErrPush, err)
		}
		u.logger.Debug("registry refused a blob mount; checking blobs with HEAD", "error", err)
		return false, nil
	}
	u.progress(Event{Kind: EventBlobUploading, Name: name, Descriptor: desc})
	rc, after, err := open()
	if err != nil {
		return true, fmt.Errorf("push %s: %w", what, err)
	}
	src := &sourceReader{ReadCloser: rc}
	defer src.Close()
	var body io.Reader
	if desc.Size <= inMemoryBodyMax {
		// Read whole, the body goes out with the headers in one write; its
		// bytes are reported sent once the registry has taken them.
		b, rerr := readSized(src, desc.Size, desc.Size)
		if rerr == nil && int64(len(b)) != desc.Size {
			rerr = fmt.Errorf("read %d bytes, the descriptor says %d", len(b), desc.Size)
		}
		if rerr != nil {
			if after != nil {
				if aerr := after(); aerr != nil {
					return true, fmt.Errorf("push %s: %w", what, aerr)
				}
			}
			return true, fmt.Errorf("push %s: %w", what, rerr)
		}
		body = bytes.NewReader(b)
	} else {
		body = counting(src, name, desc, u.bytesProgress)
	}
	err = u.mono.complete(ctx, post, resp, desc, body)
	if err != nil && src.err != nil {
		err = src.err
	}
	if err == nil && desc.Size <= inMemoryBodyMax && u.bytesProgress != nil {
		u.bytesProgress(Event{Kind: EventBlobBytes, Name: name, Descriptor: desc, Bytes: desc.Size})
	}
	return true, u.finish(what, name, desc, err, after)
}
