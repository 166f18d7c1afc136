package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeUpstream is an in-process model endpoint speaking minimal OpenAI
// Chat Completions, OpenAI Responses and Anthropic Messages, as JSON or,
// when the request has "stream": true, as server-sent events in the
// shapes those APIs use. The model it reports serving is the requested
// one plus servedSuffix.
//
// Test controls, by request header (the proxy passes headers through):
//
//	X-Test-Status: 500      answer that status with an error body
//	X-Test-Abort: 1         stream one event, then break the connection
//	X-Test-Stream-Error: 1  stream one event, then an error event
//	X-Test-Pad: N           make the JSON answer's text N bytes long
//
// With gate set, a stream writes its first event, then waits until the
// gate is closed before writing the rest.
type fakeUpstream struct {
	*httptest.Server
	gate chan struct{}

	calls atomic.Int64
	mu    sync.Mutex
	seen  []http.Header // headers of every request received
}

const servedSuffix = "-2025-06-01"

func newFakeUpstream(t testing.TB) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

// headers returns the headers of every request received so far.
func (u *fakeUpstream) headers() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.seen...)
}

func (u *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	u.mu.Lock()
	u.seen = append(u.seen, r.Header.Clone())
	u.mu.Unlock()
	if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{map[string]any{"id": "gpt-4o"}}})
		return
	}
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || json.Unmarshal(body, &req) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"message": "bad request"}})
		return
	}
	if s := r.Header.Get("X-Test-Status"); s != "" {
		var code int
		fmt.Sscan(s, &code)
		writeJSON(w, code, map[string]any{"error": map[string]any{"type": "server_error", "message": "the upstream failed"}})
		return
	}
	served := req.Model + servedSuffix
	text := "Hello there."
	if s := r.Header.Get("X-Test-Pad"); s != "" {
		var n int
		fmt.Sscan(s, &n)
		text = strings.Repeat("a", n)
	}
	var events []sse
	var reply any
	switch r.URL.Path {
	case "/v1/chat/completions":
		reply = map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "model": served,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}}}
		for i, piece := range []string{"Hello", " there", "."} {
			events = append(events, sse{data: fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","model":%q,"choices":[{"index":0,"delta":{"content":%q}}],"n":%d}`, served, piece, i)})
		}
		events = append(events, sse{data: "[DONE]"})
	case "/v1/responses":
		reply = map[string]any{"id": "resp_1", "object": "response", "status": "completed", "model": served,
			"output": []any{map[string]any{"type": "message", "role": "assistant", "content": []any{map[string]any{"type": "output_text", "text": "Hello there."}}}}}
		events = []sse{
			{event: "response.created", data: fmt.Sprintf(`{"type":"response.created","response":{"id":"resp_1","status":"in_progress","model":%q}}`, served)},
			{event: "response.output_text.delta", data: `{"type":"response.output_text.delta","delta":"Hello"}`},
			{event: "response.output_text.delta", data: `{"type":"response.output_text.delta","delta":" there."}`},
			{event: "response.completed", data: fmt.Sprintf(`{"type":"response.completed","response":{"id":"resp_1","status":"completed","model":%q}}`, served)},
		}
	case "/v1/messages":
		reply = map[string]any{"id": "msg_1", "type": "message", "role": "assistant", "model": served,
			"content": []any{map[string]any{"type": "text", "text": "Hello there."}}, "stop_reason": "end_turn"}
		events = []sse{
			{event: "message_start", data: fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":%q,"content":[]}}`, served)},
			{event: "content_block_delta", data: `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`},
			{event: "content_block_delta", data: `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there."}}`},
			{event: "message_stop", data: `{"type":"message_stop"}`},
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"message": "no such path " + r.URL.Path}})
		return
	}
	if m, ok := reply.(map[string]any); ok && r.Header.Get("X-Test-Echo") != "" {
		// A careless upstream: it echoes the request's headers.
		m["echo"] = r.Header
		w.Header().Set("X-Request-Id", "req_"+r.Header.Get("Authorization"))
		req.Stream = false
	} else if ok && r.Header.Get("X-Test-Leak") != "" {
		m["debug"] = r.Header.Get("X-Test-Leak")
	}
	if !req.Stream {
		if w.Header().Get("X-Request-Id") == "" {
			w.Header().Set("X-Request-Id", "req_"+strings.TrimPrefix(r.URL.Path, "/v1/"))
		}
		writeJSON(w, http.StatusOK, reply)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush := func() { http.NewResponseController(w).Flush() }
	for i, e := range events {
		io.WriteString(w, e.String())
		flush()
		if i > 0 {
			continue
		}
		switch {
		case r.Header.Get("X-Test-Abort") != "":
			panic(http.ErrAbortHandler) // breaks the connection mid-stream
		case r.Header.Get("X-Test-Stream-Error") != "":
			io.WriteString(w, sse{event: "error", data: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`}.String())
			return
		}
		if u.gate != nil {
			select {
			case <-u.gate:
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Second): // a deadlock guard, not a timing
				panic(http.ErrAbortHandler) // the client never got the first event
			}
		}
	}
}

// sse is one server-sent event.
type sse struct{ event, data string }

func (e sse) String() string {
	if e.event == "" {
		return "data: " + e.data + "\n\n"
	}
	return "event: " + e.event + "\ndata: " + e.data + "\n\n"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}
