package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/layout"
	"github.com/runid/runid-oci/pack/referrer"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// Names of the execution facts the proxy records besides the spec's
// well-known ones (spec.FactInstanceID, FactStartedAt, FactEndedAt,
// FactStatus, FactServedModel).
const (
	// FactHTTPStatus is the upstream's HTTP status code (absent when it
	// did not answer).
	FactHTTPStatus = "httpStatus"
	// FactUpstream is the URL the request was sent to, without query.
	FactUpstream = "upstream"
	// FactFormat is the importer format of the request.
	FactFormat = "format"
	// FactResponseBytes is the length of the response body received.
	FactResponseBytes = "responseBytes"
	// FactTruncated is true when the recorded body is only the first
	// Options.MaxRecordedResponse bytes of it.
	FactTruncated = "truncated"
	// FactError says why the execution failed or was cancelled.
	FactError = "error"
	// FactUpstreamRequestID is the upstream's request ID (the
	// x-request-id or request-id response header).
	FactUpstreamRequestID = "upstreamRequestId"
	// FactStreamed is true for a server-sent event stream.
	FactStreamed = "streamed"
	// FactRecordError says why the response body is not in the record
	// (the temporary file could not be written).
	FactRecordError = "recordError"
	// FactDenied lists why Options.Decide denied the request, which was
	// then never forwarded (spec.FactDenied).
	FactDenied = spec.FactDenied
)

// exchangeKey keys the exchange of a recorded request in its context.
type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// exchange is one recorded request and its response.
type exchange struct {
	h        *Handler
	format   string
	subject  ocispec.Descriptor // the identity's manifest, as pushed
	instance string
	request  *http.Request

	started, ended time.Time
	upstreamURL    string
	httpStatus     int
	contentType    string
	requestID      string
	body           *teeBody
	upstreamErr    error
	denied         []string // Options.Decide's reasons; the request was not forwarded
	span           Span     // from Options.Tracer, or nil

	// set by finish
	status  string
	errText string
	outcome string
}

// newInstanceID returns a random instance ID (128 bits, base32).
func newInstanceID() string { return rand.Text() }

// begin starts recording the upstream's response.
func (ex *exchange) begin(res *http.Response) {
	ex.httpStatus = res.StatusCode
	ex.contentType = res.Header.Get("Content-Type")
	ex.requestID = res.Header.Get("X-Request-Id")
	if ex.requestID == "" {
		ex.requestID = res.Header.Get("Request-Id")
	}
	if res.Request != nil && res.Request.URL != nil {
		ex.upstreamURL = redactURL(res.Request.URL)
	}
	ex.body = &teeBody{src: res.Body, max: ex.h.opts.MaxRecordedResponse, dir: ex.h.opts.TempDir}
	res.Body = ex.body
}

// finish settles the outcome once the response was sent (or not):
// aborted is true when the copy to the client failed, clientErr is the
// client request's context error.
func (ex *exchange) finish(aborted bool, clientErr error) {
	ex.ended = time.Now()
	if ex.upstreamURL == "" {
		ex.upstreamURL = redactURL(joinURL(ex.h.upstream, ex.request.URL))
	}
	complete := ex.body != nil && ex.body.complete && !aborted
	switch {
	case ex.upstreamErr != nil && clientErr != nil:
		ex.status, ex.errText = spec.StatusCancelled, "the client went away before the upstream answered"
	case ex.upstreamErr != nil:
		ex.status, ex.errText = spec.StatusFailed, fmt.Sprintf("%v: %s", ErrUpstreamFailed, redactError(ex.upstreamErr))
	case !complete && (clientErr != nil || (ex.body != nil && ex.body.readErr == nil)):
		ex.status, ex.errText = spec.StatusCancelled, "the client went away before the response ended"
	case !complete:
		msg := "the upstream response ended early"
		if ex.body != nil && ex.body.readErr != nil {
			msg = fmt.Sprintf("%v: reading the response: %s", ErrUpstreamFailed, redactError(ex.body.readErr))
		}
		ex.status, ex.errText = spec.StatusFailed, msg
	case ex.httpStatus >= 400:
		ex.status, ex.errText = spec.StatusFailed, fmt.Sprintf("the upstream answered %d %s", ex.httpStatus, http.StatusText(ex.httpStatus))
	default:
		ex.status = spec.StatusSucceeded
	}
	ex.outcome = ex.status
}

// joinURL is the upstream URL of request u, as ReverseProxy's SetURL
// makes it, for a request that never reached the upstream.
func joinURL(up, req *url.URL) *url.URL {
	out := *up
	out.Path = strings.TrimSuffix(up.Path, "/") + "/" + strings.TrimPrefix(req.Path, "/")
	out.RawPath = ""
	return &out
}

// record attaches the output record, in the background, and reports it.
func (ex *exchange) record() {
	h := ex.h
	defer h.pending.Done()
	rec := Record{Identity: ex.subject.Digest, InstanceID: ex.instance, Format: ex.format, Status: ex.status, HTTPStatus: ex.httpStatus}
	var files []referrer.OutputFile
	var tb *teeBody
	if ex.body != nil {
		tb = ex.body
		defer tb.cleanup()
	}
	facts := map[string]any{
		spec.FactInstanceID: ex.instance,
		spec.FactStartedAt:  ex.started.UTC().Format(time.RFC3339Nano),
		spec.FactEndedAt:    ex.ended.UTC().Format(time.RFC3339Nano),
		spec.FactStatus:     ex.status,
		FactFormat:          ex.format,
	}
	if ex.upstreamURL != "" {
		facts[FactUpstream] = ex.upstreamURL
	}
	if ex.denied != nil {
		facts[FactDenied] = ex.denied
	}
	if ex.httpStatus != 0 {
		facts[FactHTTPStatus] = ex.httpStatus
	}
	// The request's credentials are never stored, even where the upstream
	// echoes them.
	secrets := credentialValues(ex.request.Header)
	if ex.requestID != "" {
		id, _ := replaceAll([]byte(ex.requestID), secrets)
		facts[FactUpstreamRequestID] = string(id)
	}
	if tb != nil {
		facts[FactResponseBytes] = tb.total
		if tb.total > tb.written {
			facts[FactTruncated] = true
		}
	}
	if ex.errText != "" {
		facts[FactError] = ex.errText
	}
	if ex.span != nil {
		if tid, sid := ex.span.IDs(); tid != "" && sid != "" {
			facts[spec.FactTraceID], facts[spec.FactSpanID] = tid, sid
		}
	}
	var gres capture.GenAIResponse
	if tb != nil {
		base := baseMediaType(ex.contentType)
		file, err := tb.recorded()
		switch {
		case err != nil:
			h.log.Error("response body not recorded", "identity", ex.subject.Digest, "instance", ex.instance, "error", err)
			facts[FactRecordError] = "the response body could not be recorded: " + err.Error()
		case file.Path != "" || file.Data != nil:
			redacted, n, err := redactFile(file, secrets, h.opts.TempDir)
			if err != nil {
				h.log.Error("response body not recorded", "identity", ex.subject.Digest, "instance", ex.instance, "error", err)
				facts[FactRecordError] = "the response body could not be recorded: " + err.Error()
				break
			}
			if redacted.Path != file.Path {
				defer os.Remove(redacted.Path)
			}
			file = redacted
			if n > 0 {
				facts[FactRedacted] = n
				h.log.Warn("the upstream echoed a credential header of the request; redacted in the record", "identity", ex.subject.Digest, "instance", ex.instance, "places", n)
			}
			if !h.opts.AllowSecrets {
				findings, err := scanBody(file, base)
				if err == nil && len(findings) > 0 {
					var list []string
					for _, f := range findings[:min(len(findings), 20)] {
						list = append(list, f.String())
					}
					facts[FactWithheldBody] = "the response body looks like it holds credentials: " + strings.Join(list, "; ")
					h.log.Warn("response body not recorded: it looks like it holds credentials", "identity", ex.subject.Digest, "instance", ex.instance, "findings", len(findings))
					break
				}
			}
			file.Name, file.MediaType = fileName(base), layerMediaType(base)
			files = append(files, file)
			if base == "text/event-stream" {
				facts[FactStreamed] = true
			}
			model, streamErr := inspectBody(file, base)
			if model != "" {
				facts[spec.FactServedModel] = model
			}
			gres = describeBody(ex.format, file, base)
			if u := gres.Usage(); u != nil {
				facts[spec.FactUsage] = u
			}
			if len(gres.FinishReasons) > 0 {
				facts[spec.FactFinishReasons] = gres.FinishReasons
			}
			if streamErr != "" && ex.status == spec.StatusSucceeded {
				facts[spec.FactStatus], facts[FactError] = spec.StatusFailed, streamErr
				rec.Status = spec.StatusFailed
			}
		}
	}
	rec.Facts = facts

	// Nobody waits for the record: in a pack/layout store its writes
	// yield to the identities of requests waiting to be forwarded.
	ctx, cancel := context.WithTimeout(layout.WithLowPriority(context.Background()), h.opts.StoreTimeout)
	defer cancel()
	res, err := referrer.Attach(ctx, h.store, ex.subject.Digest.String(), files, referrer.AttachOptions{Execution: facts, Created: ex.ended, Subject: &ex.subject, Logger: h.log})
	h.index.changed()
	if err == nil {
		err = h.resolvable(ctx, res.Descriptor)
	}
	if err == nil {
		rec.Output = res.Descriptor.Digest
		if h.opts.Sign != nil {
			if _, serr := h.opts.Sign(ctx, h.store, rec.Output.String()); serr != nil {
				err = fmt.Errorf("sign output record %s: %w", rec.Output, serr)
			}
		}
	} else {
		err = fmt.Errorf("attach output record: %w", err)
	}
	rec.Err = err
	if err != nil {
		h.log.Error("output record not stored", "identity", ex.subject.Digest, "instance", ex.instance, "error", err)
	} else {
		h.log.Debug("output record stored", "identity", ex.subject.Digest, "instance", ex.instance, "record", rec.Output, "status", rec.Status)
	}
	if ex.span != nil {
		errText, _ := facts[FactError].(string)
		ex.span.End(TraceEnd{End: ex.ended, Status: rec.Status, HTTPStatus: ex.httpStatus, Error: errText, Denied: ex.denied, Response: gres, Record: rec.Output, RecordErr: rec.Err})
	}
	if h.opts.OnRecord != nil {
		h.opts.OnRecord(rec)
	}
}

// baseMediaType is a Content-Type without parameters, in lower case, or
// "" when it cannot be parsed.
func baseMediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

// layerMediaType is the media type of the recorded body's layer: the
// response's, or mediatype.Output when it has none.
func layerMediaType(base string) string {
	if base == "" {
		return mediatype.Output
	}
	return base
}

// isJSON reports whether a media type is JSON.
func isJSON(base string) bool {
	return base == "application/json" || strings.HasSuffix(base, "+json")
}

// fileName names the recorded body in the output record.
func fileName(base string) string {
	switch {
	case isJSON(base):
		return "response.json"
	case base == "text/event-stream":
		return "response.sse"
	case strings.HasPrefix(base, "text/"):
		return "response.txt"
	}
	return "response.bin"
}

// maxInspectedEvent caps one line of an event stream that inspectBody
// looks into.
const maxInspectedEvent = 4 << 20

// modelFields are where responses report the served model: "model" in a
// JSON response and in Chat Completions chunks, "response.model" in
// Responses events, "message.model" in Anthropic's message_start.
type modelFields struct {
	Type     string `json:"type"`
	Model    string `json:"model"`
	Response *struct {
		Model string `json:"model"`
	} `json:"response"`
	Message *struct {
		Model string `json:"model"`
	} `json:"message"`
}

func (m modelFields) model() string {
	switch {
	case m.Model != "":
		return m.Model
	case m.Response != nil && m.Response.Model != "":
		return m.Response.Model
	case m.Message != nil && m.Message.Model != "":
		return m.Message.Model
	}
	return ""
}

// inspectBody reads the recorded body for the served model and, in an
// event stream, an error event (Anthropic's event: error, OpenAI
// Responses' error and response.failed).
func inspectBody(file referrer.OutputFile, base string) (model, streamErr string) {
	var f io.Reader = bytes.NewReader(file.Data)
	if file.Data == nil {
		osf, err := os.Open(file.Path)
		if err != nil {
			return "", ""
		}
		defer osf.Close()
		f = osf
	}
	if isJSON(base) {
		var m modelFields
		if json.NewDecoder(f).Decode(&m) == nil {
			return m.model(), ""
		}
		return "", ""
	}
	if base != "text/event-stream" {
		return "", ""
	}
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := readLine(r)
		if len(line) == 0 && err != nil {
			return model, streamErr
		}
		switch {
		case bytes.HasPrefix(line, []byte("event:")):
			if string(bytes.TrimSpace(line[len("event:"):])) == "error" && streamErr == "" {
				streamErr = "the event stream reported an error"
			}
		case bytes.HasPrefix(line, []byte("data:")):
			data := bytes.TrimSpace(line[len("data:"):])
			if model != "" && !bytes.Contains(data, []byte(`"error"`)) && !bytes.Contains(data, []byte("response.failed")) {
				continue
			}
			var m modelFields
			if json.Unmarshal(data, &m) != nil {
				continue
			}
			if model == "" {
				model = m.model()
			}
			if (m.Type == "error" || m.Type == "response.failed") && streamErr == "" {
				streamErr = fmt.Sprintf("the event stream reported an error (%s)", m.Type)
			}
		}
		if err != nil {
			return model, streamErr
		}
	}
}

// describeBody reads the GenAI response facts of a recorded body.
func describeBody(format string, file referrer.OutputFile, base string) capture.GenAIResponse {
	if !isJSON(base) && base != "text/event-stream" {
		return capture.GenAIResponse{}
	}
	var f io.Reader = bytes.NewReader(file.Data)
	if file.Data == nil {
		osf, err := os.Open(file.Path)
		if err != nil {
			return capture.GenAIResponse{}
		}
		defer osf.Close()
		f = osf
	}
	return capture.DescribeResponse(format, f, base == "text/event-stream")
}

// readLine reads one line without its end; a line longer than
// maxInspectedEvent is skipped (returned empty of data but not empty).
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) <= maxInspectedEvent {
			line = append(line, frag...)
		} else if line == nil || line[0] != ':' {
			line = []byte(":")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

// memRecord is how much of a response body is kept in memory while it
// passes; a longer one goes to a temporary file as it passes. A shorter
// one is attached from memory, without a file.
const memRecord = 1 << 20

// teeBody passes a response body through, copying the first max bytes to
// memory and, beyond memRecord, to a temporary file.
type teeBody struct {
	src      io.ReadCloser
	max      int64
	dir      string
	mem      []byte
	file     *os.File
	written  int64
	total    int64
	complete bool
	readErr  error
	err      error // recording error
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.src.Read(p)
	if n > 0 {
		t.total += int64(n)
		t.keep(p[:n])
	}
	switch {
	case err == io.EOF:
		t.complete = true
	case err != nil:
		t.readErr = err
	}
	return n, err
}

// keep copies p to memory or the file, up to the cap.
func (t *teeBody) keep(p []byte) {
	if t.err != nil || t.written >= t.max {
		return
	}
	if int64(len(p)) > t.max-t.written {
		p = p[:t.max-t.written]
	}
	t.written += int64(len(p))
	if t.file == nil && len(t.mem)+len(p) <= memRecord {
		t.mem = append(t.mem, p...)
		return
	}
	if t.file == nil {
		if t.spill(); t.err != nil {
			return
		}
	}
	if _, err := t.file.Write(p); err != nil {
		t.err = err
	}
}

// spill moves what is in memory to a new temporary file.
func (t *teeBody) spill() {
	f, err := os.CreateTemp(t.dir, "runid-proxy-*")
	if err != nil {
		t.err = err
		return
	}
	t.file = f
	if _, err := f.Write(t.mem); err != nil {
		t.err = err
	}
	t.mem = nil
}

// recorded returns what was recorded as an output file without a name:
// its bytes when they are in memory, else its temporary file, closed; a
// zero OutputFile when nothing was recorded.
func (t *teeBody) recorded() (referrer.OutputFile, error) {
	if t.err != nil {
		return referrer.OutputFile{}, t.err
	}
	if t.file == nil {
		if len(t.mem) == 0 {
			return referrer.OutputFile{}, nil
		}
		return referrer.OutputFile{Data: t.mem}, nil
	}
	if err := t.file.Close(); err != nil {
		return referrer.OutputFile{}, err
	}
	return referrer.OutputFile{Path: t.file.Name()}, nil
}

func (t *teeBody) Close() error { return t.src.Close() }

// cleanup removes the temporary file.
func (t *teeBody) cleanup() {
	if t.file != nil {
		t.file.Close()
		_ = os.Remove(t.file.Name())
	}
}
