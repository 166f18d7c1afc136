package pack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// Single-request blob uploads.
//
// The OCI distribution specification lets a client push a blob in one
// request: POST /v2/<name>/blobs/uploads/?digest=<digest> with the bytes as
// the body; a registry that supports it verifies the digest, stores the
// blob and answers 201 Created. oras-go always opens an upload session
// first (POST, then PUT), two requests per blob. For thousands of small
// components the registry's cost per request decides the push, so Push
// sends small blobs in the single request, and falls back where the
// registry does not take it:
//
//   - A registry that ignores the digest (CNCF Distribution) answers 202
//     Accepted with an upload Location, having opened a session as for a
//     plain POST: the blob is completed there with the PUT a two-request
//     upload would send, and later blobs go the two-request way (with a
//     mount request that also finds blobs the repository has; see
//     mountMaxSize).
//   - A registry that refuses the request (404, 405, 400 other than a
//     digest that does not match) gets the two-request upload for this
//     blob and every later one.
//
// A digest that does not match the bytes is refused by the registry (400
// DIGEST_INVALID) and fails the push, as it does a PUT.

// monolithicMaxSize is the largest blob sent in a single POST. It is the
// body that a registry answering 202 has ignored and that is sent again;
// and, since the POST carries the bytes, what is sent for a blob the
// repository already has (which the mount request of a two-request upload
// finds without sending it).
const monolithicMaxSize = mountMaxSize

// Single-POST support of one registry, as learned from its answers.
const (
	monoUnknown int32 = iota
	monoProbing       // one upload is finding out
	monoSupported
	monoUnsupported
)

// monoState is what one registry's answers said of single-POST uploads.
type monoState struct {
	mu      sync.Mutex
	state   int32
	decided chan struct{} // closed when a probe ends
}

// monoStates holds a monoState per registry (scheme and host) for the life
// of the process: a registry is asked once, not once per Push.
var monoStates sync.Map // string → *monoState

// monolithic pushes small blobs to one remote repository in a single
// request each.
type monolithic struct {
	repo *remote.Repository
	st   *monoState
}

func newMonolithic(repo *remote.Repository) *monolithic {
	key := "https://" + repo.Reference.Host()
	if repo.PlainHTTP {
		key = "http://" + repo.Reference.Host()
	}
	st, _ := monoStates.LoadOrStore(key, &monoState{})
	return &monolithic{repo: repo, st: st.(*monoState)}
}

// use reports whether a blob of size bytes goes up in a single POST: yes
// when the registry is known to take them; while that is not known, the
// first caller probes with its blob and the others wait for the answer
// (one round trip), so that a registry that does not take them is sent at
// most one needless body.
func (m *monolithic) use(ctx context.Context, size int64) bool {
	if m == nil || size > monolithicMaxSize {
		return false
	}
	for {
		m.st.mu.Lock()
		switch m.st.state {
		case monoSupported:
			m.st.mu.Unlock()
			return true
		case monoUnsupported:
			m.st.mu.Unlock()
			return false
		case monoUnknown:
			m.st.state = monoProbing
			m.st.decided = make(chan struct{})
			m.st.mu.Unlock()
			return true
		}
		wait := m.st.decided
		m.st.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return false
		}
	}
}

// learn ends a probe with what its answer said; monoUnknown (a network
// error, an authentication failure: nothing said about single POSTs) lets
// the next caller probe again. It does nothing outside a probe.
func (m *monolithic) learn(state int32) {
	m.st.mu.Lock()
	defer m.st.mu.Unlock()
	if m.st.state != monoProbing {
		return
	}
	m.st.state = state
	close(m.st.decided)
}

// maxErrorBody caps how much of an error answer is read.
const maxErrorBody = 64 << 10

// maxDrain caps how much of a successful answer's body is read before it
// is closed, so that the connection can serve the next request.
const maxDrain = 4 << 10

// push uploads body, the bytes of desc, in one POST. handled is false when
// the registry refused the request as one it does not support and stored
// nothing: the caller then uploads the blob the two-request way. When
// handled, err is the outcome of the upload. ctx carries the repository's
// authentication scope (pull and push), as Push sets it.
func (m *monolithic) push(ctx context.Context, desc ocispec.Descriptor, body []byte) (handled bool, err error) {
	verdict := monoUnknown
	defer func() { m.learn(verdict) }()
	if int64(len(body)) != desc.Size {
		return true, fmt.Errorf("read %d bytes, the descriptor says %d", len(body), desc.Size)
	}
	ref := m.repo.Reference
	scheme := "https"
	if m.repo.PlainHTTP {
		scheme = "http"
	}
	u := url.URL{Scheme: scheme, Host: ref.Host(), Path: "/v2/" + ref.Repository + "/blobs/uploads/",
		RawQuery: url.Values{"digest": {desc.Digest.String()}}.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return true, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := m.client().Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		verdict = monoSupported
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		return true, nil
	case http.StatusAccepted:
		// The registry opened an upload session and ignored the digest
		// (and the body): finish the session as a two-request upload would.
		verdict = monoUnsupported
		return true, m.complete(ctx, req, resp, desc, body)
	}
	rerr := errorResponse(resp)
	if unsupported(rerr) {
		verdict = monoUnsupported
		return false, nil
	}
	if rerr.StatusCode == http.StatusBadRequest {
		// The registry checked the digest or size: it takes single POSTs.
		verdict = monoSupported
	}
	return true, rerr
}

// complete PUTs body to the upload session a POST answered with 202, at its
// Location, which must stay on the registry's host and scheme.
func (m *monolithic) complete(ctx context.Context, post *http.Request, resp *http.Response, desc ocispec.Descriptor, body []byte) error {
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("upload session without a Location: %w", err)
	}
	if !sameHost(loc, post.URL) {
		return fmt.Errorf("blob upload Location %q is on a different host than the registry %q", loc.Host, post.URL.Host)
	}
	if post.URL.Scheme == "https" && loc.Scheme != "https" {
		return fmt.Errorf("blob upload Location %q downgrades the scheme from https", loc.Host)
	}
	q := loc.Query()
	q.Set("digest", desc.Digest.String())
	loc.RawQuery = q.Encode()
	// The body is not one the client can rewind (no GetBody), so that a
	// failed PUT is not sent again (as oras-go's own PUT): the session may
	// be gone. It is a bytes.Reader, which net/http sends in the same write
	// as the request's headers.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), nil)
	if err != nil {
		return err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	if a := resp.Request.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	put, err := m.client().Do(req)
	if err != nil {
		return err
	}
	defer put.Body.Close()
	if put.StatusCode != http.StatusCreated {
		return errorResponse(put)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(put.Body, maxDrain))
	return nil
}

func (m *monolithic) client() remote.Client {
	if m.repo.Client != nil {
		return m.repo.Client
	}
	return auth.DefaultClient
}

// sameHost reports whether loc and req name the same host and port, the
// default ports of http and https included.
func sameHost(loc, req *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return loc.Hostname() == req.Hostname() && port(loc) == port(req)
}

// errorResponse reads an error answer (its body capped) into the error type
// oras-go returns for one.
func errorResponse(resp *http.Response) *errcode.ErrorResponse {
	er := &errcode.ErrorResponse{Method: resp.Request.Method, URL: resp.Request.URL, StatusCode: resp.StatusCode}
	var body struct {
		Errors errcode.Errors `json:"errors"`
	}
	if b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)); err == nil && json.Unmarshal(b, &body) == nil {
		er.Errors = body.Errors
	}
	return er
}

// unsupported reports whether a registry's refusal of a single-POST upload
// says that it does not take such uploads, rather than that this blob or
// this client was refused: 404, 405, 415, or 400 with any code but
// DIGEST_INVALID and SIZE_INVALID.
func unsupported(er *errcode.ErrorResponse) bool {
	switch er.StatusCode {
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return true
	case http.StatusBadRequest:
		for _, e := range er.Errors {
			switch strings.ToUpper(e.Code) {
			case errcode.ErrorCodeDigestInvalid, errcode.ErrorCodeSizeInvalid:
				return false
			}
		}
		return true
	}
	return false
}
