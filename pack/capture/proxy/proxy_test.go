package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// TestRecordsEveryFormat: for each API, as JSON and as an event stream,
// the client gets the upstream's response with the identity in a header;
// the identity is the one the importer gives the body, it verifies, and
// it has one output record holding exactly the response the client got,
// with the execution facts.
func TestRecordsEveryFormat(t *testing.T) {
	for _, format := range capture.Formats() {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", format, stream), func(t *testing.T) {
				hs := newHarness(t, nil, proxy.Options{})
				path, body := request(format, "Say hello.", stream)
				before := time.Now().UTC()
				res, got := hs.post(path, body, nil)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", res.StatusCode, got)
				}
				// The same request sent directly gives the same body.
				direct, err := http.Post(hs.up.URL+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				want, _ := io.ReadAll(direct.Body)
				direct.Body.Close()
				if !bytes.Equal(got, want) {
					t.Errorf("proxied body\n%s\ndiffers from the direct one\n%s", got, want)
				}
				id := res.Header.Get(proxy.DefaultIdentityHeader)
				if wantID := identityOf(t, format, body); id != wantID.String() {
					t.Fatalf("%s = %q, want %s", proxy.DefaultIdentityHeader, id, wantID)
				}
				instance := res.Header.Get(proxy.DefaultInstanceHeader)
				if instance == "" {
					t.Fatalf("no %s header", proxy.DefaultInstanceHeader)
				}
				hs.shutdown()

				if _, err := pull.Verify(context.Background(), hs.store, id, pull.VerifyOptions{}); err != nil {
					t.Fatalf("the declared identity does not verify: %v", err)
				}
				outs := outputs(t, hs.store, id)
				if len(outs) != 1 {
					t.Fatalf("%d output records, want 1", len(outs))
				}
				rec := outs[0]
				if rep, err := pull.Verify(context.Background(), hs.store, rec.Digest.String(), pull.VerifyOptions{}); err != nil || len(rep.Chain) != 2 {
					t.Fatalf("the output record does not verify as a chain: %v", err)
				}
				if file := fileOf(t, hs.store, rec); !bytes.Equal(file, got) {
					t.Errorf("recorded body\n%s\ndiffers from the body the client got\n%s", file, got)
				}
				wantMT, wantName, wantStreamed := "application/json", "response.json", ""
				if stream {
					wantMT, wantName, wantStreamed = "text/event-stream", "response.sse", "true"
				}
				if l := rec.Files[0]; l.MediaType != wantMT || l.Annotations["org.opencontainers.image.title"] != wantName {
					t.Errorf("recorded file %s %q, want %s %q", l.MediaType, l.Annotations["org.opencontainers.image.title"], wantMT, wantName)
				}
				for k, want := range map[string]string{
					spec.FactInstanceID:     instance,
					spec.FactStatus:         spec.StatusSucceeded,
					spec.FactServedModel:    modelOf(body) + servedSuffix,
					proxy.FactHTTPStatus:    "200",
					proxy.FactFormat:        format,
					proxy.FactUpstream:      hs.up.URL + path,
					proxy.FactResponseBytes: fmt.Sprint(len(got)),
					proxy.FactStreamed:      wantStreamed,
					proxy.FactError:         "",
					proxy.FactTruncated:     "",
				} {
					if g := fact(rec, k); g != want {
						t.Errorf("fact %s = %q, want %q", k, g, want)
					}
				}
				started, err1 := time.Parse(time.RFC3339Nano, fact(rec, spec.FactStartedAt))
				ended, err2 := time.Parse(time.RFC3339Nano, fact(rec, spec.FactEndedAt))
				if err1 != nil || err2 != nil || started.Before(before) || ended.Before(started) || ended.After(time.Now()) {
					t.Errorf("times %s .. %s, want within %s .. now", fact(rec, spec.FactStartedAt), fact(rec, spec.FactEndedAt), before)
				}
				if rs := hs.recorded(); len(rs) != 1 || rs[0].Err != nil || rs[0].Output != rec.Digest || rs[0].Identity.String() != id {
					t.Errorf("OnRecord got %+v, want one record %s of %s", rs, rec.Digest, id)
				}
			})
		}
	}
}

// TestStreamingPassesThrough: an event stream reaches the client as it is
// written. The upstream writes its first event and then waits for the
// client to have received it; a buffering proxy would deadlock here.
func TestStreamingPassesThrough(t *testing.T) {
	for _, format := range capture.Formats() {
		t.Run(format, func(t *testing.T) {
			// No index.json save during the test: the identity must be
			// readable from the blobs alone while its request runs.
			hs := newHarness(t, nil, proxy.Options{IndexSaveInterval: time.Hour})
			hs.up.gate = make(chan struct{})
			path, body := request(format, "Stream it.", true)
			type head struct {
				res   *http.Response
				r     *bufio.Reader
				event string
				err   error
			}
			first := make(chan head, 1)
			go func() {
				res, err := http.Post(hs.srv.URL+path, "application/json", strings.NewReader(body))
				if err != nil {
					first <- head{err: err}
					return
				}
				r := bufio.NewReader(res.Body)
				var ev strings.Builder
				for {
					line, err := r.ReadString('\n')
					ev.WriteString(line)
					if line == "\n" || err != nil {
						first <- head{res, r, ev.String(), err}
						return
					}
				}
			}()
			var got head
			select {
			case got = <-first:
			case <-time.After(10 * time.Second): // deadlock guard, shorter than the upstream's
				t.Fatal("the first event did not reach the client while the upstream waited: the proxy buffers the stream")
			}
			if got.err != nil {
				t.Fatal(got.err)
			}
			res, r, ev := got.res, got.r, got.event
			defer res.Body.Close()
			if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("Content-Type %q", ct)
			}
			if !strings.Contains(ev, modelOf(body)+servedSuffix) {
				t.Errorf("first event %q", ev)
			}
			// Declared before it was forwarded: another reader of the
			// layout verifies the identity while the request runs.
			id := res.Header.Get(proxy.DefaultIdentityHeader)
			fresh, err := oci.NewFromFS(t.Context(), os.DirFS(hs.dir))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pull.Verify(t.Context(), fresh, id, pull.VerifyOptions{}); err != nil {
				t.Errorf("the identity of a request in flight does not verify from the layout: %v", err)
			}
			close(hs.up.gate)
			rest, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			last := map[string]string{capture.FormatOpenAIChat: "data: [DONE]", capture.FormatOpenAIResponses: "event: response.completed",
				capture.FormatAnthropicMessages: "event: message_stop"}[format]
			if !strings.Contains(string(rest), last) {
				t.Errorf("the stream lacks its last event %q: %q", last, rest)
			}
			hs.shutdown()
			outs := outputs(t, hs.store, id)
			if len(outs) != 1 {
				t.Fatalf("%d records", len(outs))
			}
			if got := fileOf(t, hs.store, outs[0]); string(got) != ev+string(rest) {
				t.Errorf("recorded stream\n%s\nwant\n%s", got, ev+string(rest))
			}
			if s := fact(outs[0], spec.FactStatus); s != spec.StatusSucceeded {
				t.Errorf("status %s", s)
			}
		})
	}
}

// TestCredentialsNeverRecorded: authorization headers reach the upstream
// untouched and appear in no blob of the layout and in no log line, even
// at debug level; so do a credential field in the body and a key in the
// query.
func TestCredentialsNeverRecorded(t *testing.T) {
	const (
		bearer  = "sk-proj-Zq8sT3cr3tV4lu3-h34d3r-0001"
		apiKey  = "sk-ant-api03-4nth40p1cK3y-0002"
		inBody  = "sk-b0dyK3yTh4tMu5tN0tL34k-0003"
		inQuery = "qu3ryK3yTh4tMu5tN0tL34k-0004"
	)
	secrets := []string{bearer, apiKey, inBody, inQuery}
	hs := newHarness(t, nil, proxy.Options{})
	for _, format := range capture.Formats() {
		for _, stream := range []bool{false, true} {
			path, body := request(format, "Hello.", stream)
			body = strings.Replace(body, `{"model"`, `{"api_key":"`+inBody+`","model"`, 1)
			res, b := hs.post(path+"?key="+inQuery, body, map[string]string{
				"Authorization": "Bearer " + bearer, "X-Api-Key": apiKey, "Anthropic-Version": "2023-06-01"})
			if res.StatusCode != http.StatusOK || res.Header.Get(proxy.DefaultIdentityHeader) == "" {
				t.Fatalf("%s: status %d %s", format, res.StatusCode, b)
			}
		}
	}
	_, _ = hs.do(http.MethodGet, hs.srv.URL+"/v1/models?key="+inQuery, "", map[string]string{"Authorization": "Bearer " + bearer})
	hs.shutdown()

	seen := hs.up.headers()
	if len(seen) != 7 {
		t.Fatalf("the upstream got %d requests, want 7", len(seen))
	}
	for i, h := range seen {
		if got := h.Get("Authorization"); got != "Bearer "+bearer {
			t.Errorf("request %d: upstream Authorization %q", i, got)
		}
		if got := h.Get("X-Api-Key"); i < 6 && got != apiKey {
			t.Errorf("request %d: upstream X-Api-Key %q", i, got)
		}
	}
	if len(hs.recorded()) != 6 {
		t.Errorf("%d records, want 6", len(hs.recorded()))
	}
	files := 0
	err := filepath.WalkDir(hs.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a credential", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 6*4 {
		t.Errorf("walked %d files of the layout, want identities and records", files)
	}
	logs := hs.logs.String()
	if strings.Count(logs, "msg=request") != 7 {
		t.Errorf("want one log line per request:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold a credential:\n%s", logs)
		}
	}
}

// TestUndeclared: a request that cannot be declared is refused, with a
// JSON error and without calling the upstream; with ForwardUndeclared it
// is forwarded without an identity.
func TestUndeclared(t *testing.T) {
	_, chat := request(capture.FormatOpenAIChat, "Hi.", false)
	large := strings.Replace(chat, "Hi.", strings.Repeat("x", 2048), 1)
	secret := strings.Replace(chat, "Hi.", "my key is AKIAIOSFODNN7EXAMPLE", 1)
	for _, tc := range []struct {
		name       string
		broken     bool
		body       string
		policy     proxy.Policy
		wantStatus int
		wantCode   string
		wantErr    string
	}{
		{"store fails", true, chat, proxy.FailClosed, http.StatusBadGateway, "store_unavailable", errDiskFull.Error()},
		{"store fails, forward", true, chat, proxy.ForwardUndeclared, http.StatusOK, "", ""},
		{"not JSON", false, `{"model":`, proxy.FailClosed, http.StatusBadRequest, "invalid_request", "not a openai-chat request"},
		{"not JSON, forward", false, `{"model":`, proxy.ForwardUndeclared, http.StatusBadRequest, "", ""},
		{"too large", false, large, proxy.FailClosed, http.StatusRequestEntityTooLarge, "request_too_large", "over 1024 bytes"},
		{"too large, forward", false, large, proxy.ForwardUndeclared, http.StatusOK, "", ""},
		{"credential in a message", false, secret, proxy.FailClosed, http.StatusBadRequest, "credential_in_request", "credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var store *brokenStore
			opts := proxy.Options{OnStoreError: tc.policy, MaxRequestBody: 1024}
			hs := func() *harness {
				if tc.broken {
					store = &brokenStore{memory.New()}
					return newHarness(t, store, opts)
				}
				return newHarness(t, nil, opts)
			}()
			res, b := hs.post("/v1/chat/completions", tc.body, nil)
			hs.shutdown()
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.wantStatus, b)
			}
			if id := res.Header.Get(proxy.DefaultIdentityHeader); id != "" {
				t.Errorf("an undeclared run got identity %s", id)
			}
			if len(hs.recorded()) != 0 {
				t.Errorf("records of an undeclared run: %+v", hs.recorded())
			}
			if tc.policy == proxy.ForwardUndeclared {
				if hs.up.calls.Load() != 1 {
					t.Errorf("upstream called %d times, want 1", hs.up.calls.Load())
				}
				if !strings.Contains(hs.logs.String(), "forwarding an undeclared run") {
					t.Errorf("no warning logged:\n%s", hs.logs)
				}
				return
			}
			if hs.up.calls.Load() != 0 {
				t.Errorf("the upstream was called for an undeclared run")
			}
			typ, code, msg := apiError(t, b)
			if typ != "runid_undeclared" || code != tc.wantCode || !strings.Contains(msg, tc.wantErr) || !strings.Contains(msg, proxy.ErrUndeclared.Error()) {
				t.Errorf("error %s/%s %q, want %s containing %q", typ, code, msg, tc.wantCode, tc.wantErr)
			}
			if strings.Contains(msg, "AKIAIOSFODNN7EXAMPLE") {
				t.Errorf("the error repeats the credential: %s", msg)
			}
		})
	}
}

// TestUpstreamFailure: a failed execution keeps its identity and gets an
// output record saying it failed.
func TestUpstreamFailure(t *testing.T) {
	for _, tc := range []struct {
		name       string
		header     map[string]string
		stream     bool
		down       bool
		wantStatus int // what the client gets
		wantHTTP   string
		wantErr    string
		wantFile   bool
	}{
		{"connection refused", nil, false, true, http.StatusBadGateway, "", "connection refused", false},
		{"500", map[string]string{"X-Test-Status": "500"}, false, false, http.StatusInternalServerError, "500", "the upstream answered 500", true},
		{"429", map[string]string{"X-Test-Status": "429"}, false, false, http.StatusTooManyRequests, "429", "the upstream answered 429", true},
		{"stream broken off", map[string]string{"X-Test-Abort": "1"}, true, false, http.StatusOK, "200", "reading the response", true},
		{"stream error event", map[string]string{"X-Test-Stream-Error": "1"}, true, false, http.StatusOK, "200", "the event stream reported an error", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, nil, proxy.Options{})
			if tc.down {
				hs.up.Close()
			}
			path, body := request(capture.FormatAnthropicMessages, "Hi.", tc.stream)
			req, _ := http.NewRequest(http.MethodPost, hs.srv.URL+path, strings.NewReader(body))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body) // a broken stream ends with an error
			res.Body.Close()
			hs.shutdown()
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.wantStatus, got)
			}
			if tc.down {
				if typ, code, _ := apiError(t, got); typ != "runid_upstream_error" || code != "upstream_unavailable" {
					t.Errorf("error %s/%s", typ, code)
				}
			}
			id := res.Header.Get(proxy.DefaultIdentityHeader)
			if id != identityOf(t, capture.FormatAnthropicMessages, body).String() {
				t.Fatalf("identity %q", id)
			}
			outs := outputs(t, hs.store, id)
			if len(outs) != 1 {
				t.Fatalf("%d records, want 1", len(outs))
			}
			rec := outs[0]
			if s := fact(rec, spec.FactStatus); s != spec.StatusFailed {
				t.Errorf("status %q, want failed", s)
			}
			if g := fact(rec, proxy.FactHTTPStatus); g != tc.wantHTTP {
				t.Errorf("httpStatus %q, want %q", g, tc.wantHTTP)
			}
			if e := fact(rec, proxy.FactError); !strings.Contains(e, tc.wantErr) {
				t.Errorf("error fact %q, want it to contain %q", e, tc.wantErr)
			}
			if tc.wantFile {
				if file := fileOf(t, hs.store, rec); !bytes.HasPrefix(file, got) || len(got) == 0 {
					t.Errorf("recorded %q, client got %q", file, got)
				}
			} else if len(rec.Files) != 0 {
				t.Errorf("a record of no response has files %v", rec.Files)
			}
		})
	}
}

// TestConcurrentClients: 16 clients at once, half sending the same
// request (one identity, eight records) and half distinct ones (eight
// identities, one record each). Every record is found by Discover, also
// from a fresh view of the layout directory.
func TestConcurrentClients(t *testing.T) {
	hs := newHarness(t, nil, proxy.Options{})
	const clients = 16
	type result struct {
		id, instance string
		body         []byte
	}
	results := make([]result, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			format := capture.Formats()[i%3]
			msg, stream := "the same", true
			if i >= clients/2 {
				msg, stream = fmt.Sprintf("distinct %d", i), i%2 == 0
			}
			if i < clients/2 {
				format = capture.FormatOpenAIChat
			}
			path, body := request(format, msg, stream)
			res, err := http.Post(hs.srv.URL+path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("client %d: status %d %s", i, res.StatusCode, b)
			}
			results[i] = result{res.Header.Get(proxy.DefaultIdentityHeader), res.Header.Get(proxy.DefaultInstanceHeader), b}
		})
	}
	wg.Wait()
	hs.shutdown()
	if t.Failed() {
		return
	}
	ids := map[string][]int{}
	instances := map[string]bool{}
	for i, r := range results {
		ids[r.id] = append(ids[r.id], i)
		instances[r.instance] = true
	}
	if len(instances) != clients {
		t.Errorf("%d distinct instance IDs, want %d", len(instances), clients)
	}
	if len(ids) != 1+clients/2 {
		t.Fatalf("%d identities, want %d: %v", len(ids), 1+clients/2, ids)
	}
	if same := ids[results[0].id]; len(same) != clients/2 {
		t.Errorf("the identical requests got identities %v", ids)
	}
	for _, r := range hs.recorded() {
		if r.Err != nil {
			t.Errorf("record of %s: %v", r.Identity, r.Err)
		}
	}
	fresh, err := oci.New(hs.dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, store := range map[string]*oci.Store{"live": hs.store.(*oci.Store), "reopened": fresh} {
		t.Run(name, func(t *testing.T) {
			for id, who := range ids {
				outs := outputs(t, store, id)
				if len(outs) != len(who) {
					t.Errorf("%s: %d records, want %d", id, len(outs), len(who))
					continue
				}
				want := map[string]bool{}
				for _, i := range who {
					want[results[i].instance] = true
				}
				for _, o := range outs {
					if !want[fact(o, spec.FactInstanceID)] {
						t.Errorf("%s: record of instance %q, want one of %v", id, fact(o, spec.FactInstanceID), want)
					}
					delete(want, fact(o, spec.FactInstanceID))
				}
			}
		})
	}
}

// TestSigning: with a key, identities and records carry cosign
// signatures that pull.Verify accepts, and a verification with another
// key fails.
func TestSigning(t *testing.T) {
	signer, other := testutil.Key(t), testutil.Key(t)
	var key signature.Verifier = signer
	for _, format := range []sign.SignatureFormat{sign.SignatureFormatTag, sign.SignatureFormatBundle} {
		t.Run(string(format), func(t *testing.T) {
			hs := newHarness(t, nil, proxy.Options{Sign: sign.Hook(signer, sign.SignOptions{Format: format})})
			path, body := request(capture.FormatOpenAIResponses, "Sign me.", false)
			var ids []string
			for range 2 { // the second request finds the identity signed
				res, b := hs.post(path, body, nil)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status %d %s", res.StatusCode, b)
				}
				ids = append(ids, res.Header.Get(proxy.DefaultIdentityHeader))
			}
			hs.shutdown()
			if ids[0] != ids[1] {
				t.Fatalf("identities %v", ids)
			}
			ctx := context.Background()
			if rep, err := pull.Verify(ctx, hs.store, ids[0], pull.VerifyOptions{Signatures: sigverify.Verifier{Key: key}}); err != nil || rep.Signatures == nil || rep.Signatures.Verified == 0 {
				t.Fatalf("identity signature: %v", err)
			}
			outs := outputs(t, hs.store, ids[0])
			if len(outs) != 2 {
				t.Fatalf("%d records, want 2", len(outs))
			}
			for _, o := range outs {
				rep, err := pull.Verify(ctx, hs.store, o.Digest.String(), pull.VerifyOptions{Signatures: sigverify.Verifier{Key: key}})
				if err != nil || len(rep.Chain) != 2 {
					t.Errorf("record %s: %v", o.Digest, err)
				}
				for _, l := range rep.Chain {
					if !l.Verified || l.Signatures == nil || l.Signatures.Verified == 0 {
						t.Errorf("chain link %s %s: verified %v, signatures %+v", l.Kind, l.Digest, l.Verified, l.Signatures)
					}
				}
				if _, err := pull.Verify(ctx, hs.store, o.Digest.String(), pull.VerifyOptions{Signatures: sigverify.Verifier{Key: other}}); !errors.Is(err, pull.ErrVerification) {
					t.Errorf("record %s verifies with another key: %v", o.Digest, err)
				}
			}
		})
	}
}

// TestUnrecorded: other requests pass through without an identity, or
// are rejected with RejectUnrecorded.
func TestUnrecorded(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		reject             bool
		wantStatus         int
		wantCalls          int64
	}{
		{"list models", http.MethodGet, "/v1/models", false, http.StatusOK, 1},
		{"GET of a recorded path", http.MethodGet, "/v1/chat/completions", false, http.StatusBadRequest, 1},
		{"count tokens", http.MethodPost, "/v1/messages/count_tokens", false, http.StatusNotFound, 1},
		{"list models, rejected", http.MethodGet, "/v1/models", true, http.StatusNotFound, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, nil, proxy.Options{RejectUnrecorded: tc.reject})
			res, b := hs.do(tc.method, hs.srv.URL+tc.path, `{"model":"m"}`, nil)
			hs.shutdown()
			if res.StatusCode != tc.wantStatus || hs.up.calls.Load() != tc.wantCalls {
				t.Errorf("status %d, upstream calls %d; want %d, %d: %s", res.StatusCode, hs.up.calls.Load(), tc.wantStatus, tc.wantCalls, b)
			}
			if res.Header.Get(proxy.DefaultIdentityHeader) != "" || len(hs.recorded()) != 0 {
				t.Errorf("an unrecorded request was declared or recorded")
			}
		})
	}
}

// TestOptions: formats by path, header names, a truncated record, a
// provider.
func TestOptions(t *testing.T) {
	hs := newHarness(t, nil, proxy.Options{
		Formats:             map[string]string{"/v1/chat/completions": proxy.FormatOpenAIChat, "/llm/anthropic/v1/messages": proxy.FormatAnthropicMessages},
		IdentityHeader:      "X-Run-Identity",
		InstanceHeader:      "X-Run-Instance",
		MaxRecordedResponse: 16,
		Provider:            "vllm",
	})
	path, body := request(capture.FormatOpenAIChat, "Truncate me.", false)
	res, got := hs.post(path, body, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d %s", res.StatusCode, got)
	}
	res2, _ := hs.post("/v1/responses", `{"model":"m","input":"x"}`, nil)
	hs.shutdown()
	id := res.Header.Get("X-Run-Identity")
	imp, err := capture.Import(context.Background(), capture.FormatOpenAIChat, []byte(body), capture.Options{Provider: "vllm"})
	if err != nil {
		t.Fatal(err)
	}
	if id != imp.Composition.Digest().String() || res.Header.Get("X-Run-Instance") == "" || res.Header.Get(proxy.DefaultIdentityHeader) != "" {
		t.Fatalf("headers %v, want identity %s", res.Header, imp.Composition.Digest())
	}
	if res2.Header.Get("X-Run-Identity") != "" {
		t.Errorf("/v1/responses was recorded without a Formats entry")
	}
	outs := outputs(t, hs.store, id)
	if len(outs) != 1 {
		t.Fatalf("%d records", len(outs))
	}
	if file := fileOf(t, hs.store, outs[0]); !bytes.Equal(file, got[:16]) {
		t.Errorf("recorded %q, want the first 16 bytes of %q", file, got)
	}
	if fact(outs[0], proxy.FactTruncated) != "true" || fact(outs[0], proxy.FactResponseBytes) != fmt.Sprint(len(got)) {
		t.Errorf("facts %v", outs[0].Execution)
	}
}

// TestNewErrors: bad upstreams and options are refused.
func TestNewErrors(t *testing.T) {
	mustURL := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	good := mustURL("http://127.0.0.1:1")
	for _, tc := range []struct {
		name     string
		upstream *url.URL
		opts     proxy.Options
		want     error
	}{
		{"no upstream", nil, proxy.Options{}, proxy.ErrUpstream},
		{"relative", mustURL("/v1"), proxy.Options{}, proxy.ErrUpstream},
		{"ftp", mustURL("ftp://example.com"), proxy.Options{}, proxy.ErrUpstream},
		{"credentials", mustURL("https://user:pw@example.com"), proxy.Options{}, proxy.ErrUpstream},
		{"unknown format", good, proxy.Options{Formats: map[string]string{"/x": "gemini"}}, proxy.ErrOptions},
		{"relative path", good, proxy.Options{Formats: map[string]string{"x": proxy.FormatOpenAIChat}}, proxy.ErrOptions},
		{"bad header", good, proxy.Options{IdentityHeader: "Runid Identity"}, proxy.ErrOptions},
		{"bad policy", good, proxy.Options{OnStoreError: 7}, proxy.ErrOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := proxy.New(memory.New(), tc.upstream, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if strings.Contains(fmt.Sprint(err), "pw@") {
				t.Errorf("the error shows credentials: %v", err)
			}
		})
	}
	if _, err := proxy.New(nil, good, proxy.Options{}); !errors.Is(err, proxy.ErrOptions) {
		t.Errorf("nil store: %v", err)
	}
}

// TestPolicy: ParsePolicy and String are inverse.
func TestPolicy(t *testing.T) {
	for _, p := range []proxy.Policy{proxy.FailClosed, proxy.ForwardUndeclared} {
		t.Run(p.String(), func(t *testing.T) {
			got, err := proxy.ParsePolicy(p.String())
			if err != nil || got != p {
				t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), got, err)
			}
		})
	}
	if _, err := proxy.ParsePolicy("ignore"); !errors.Is(err, proxy.ErrOptions) {
		t.Errorf("ParsePolicy(ignore): %v", err)
	}
}

// TestShutdown: after Shutdown, requests are refused with 503 and the
// upstream is not called.
func TestShutdown(t *testing.T) {
	hs := newHarness(t, nil, proxy.Options{})
	if err := hs.h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	path, body := request(capture.FormatOpenAIChat, "Late.", false)
	res, b := hs.post(path, body, nil)
	if res.StatusCode != http.StatusServiceUnavailable || hs.up.calls.Load() != 0 {
		t.Fatalf("status %d, upstream calls %d: %s", res.StatusCode, hs.up.calls.Load(), b)
	}
	if _, code, _ := apiError(t, b); code != "shutting_down" {
		t.Errorf("code %q", code)
	}
}

// TestClientGoesAway: a client that leaves in the middle of a stream
// gives a cancelled record holding what was received until then.
func TestClientGoesAway(t *testing.T) {
	hs := newHarness(t, nil, proxy.Options{})
	hs.up.gate = make(chan struct{})
	defer close(hs.up.gate)
	path, body := request(capture.FormatOpenAIChat, "Leave early.", true)
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hs.srv.URL+path, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "data: ") {
		t.Fatalf("first line %q: %v", first, err)
	}
	cancel()
	res.Body.Close()
	hs.shutdown()
	outs := outputs(t, hs.store, res.Header.Get(proxy.DefaultIdentityHeader))
	if len(outs) != 1 {
		t.Fatalf("%d records", len(outs))
	}
	if s, e := fact(outs[0], spec.FactStatus), fact(outs[0], proxy.FactError); s != spec.StatusCancelled || !strings.Contains(e, "client went away") {
		t.Errorf("status %q, error %q; want cancelled by the client", s, e)
	}
	if file := fileOf(t, hs.store, outs[0]); !strings.HasPrefix(string(file), first) {
		t.Errorf("recorded %q, want what was streamed so far", file)
	}
}

// TestLargeResponses: a response longer than what is kept in memory is
// recorded whole, through a temporary file, or truncated at
// MaxRecordedResponse.
func TestLargeResponses(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pad, max      int64
		wantTruncated bool
	}{
		{"3 MiB", 3 << 20, 0, false},
		{"3 MiB, cap 2 MiB", 3 << 20, 2 << 20, true},
		{"cap at 1 MiB", 2 << 20, 1 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			hs := newHarness(t, nil, proxy.Options{MaxRecordedResponse: tc.max, TempDir: tmp})
			path, body := request(capture.FormatOpenAIChat, "Long answer.", false)
			res, got := hs.post(path, body, map[string]string{"X-Test-Pad": fmt.Sprint(tc.pad)})
			hs.shutdown()
			if res.StatusCode != http.StatusOK || int64(len(got)) < tc.pad {
				t.Fatalf("status %d, %d bytes", res.StatusCode, len(got))
			}
			outs := outputs(t, hs.store, res.Header.Get(proxy.DefaultIdentityHeader))
			if len(outs) != 1 {
				t.Fatalf("%d records", len(outs))
			}
			file := fileOf(t, hs.store, outs[0])
			want := got
			if tc.wantTruncated {
				want = got[:tc.max]
			}
			if !bytes.Equal(file, want) {
				t.Errorf("recorded %d bytes, want the first %d of the %d received", len(file), len(want), len(got))
			}
			if tr := fact(outs[0], proxy.FactTruncated); (tr == "true") != tc.wantTruncated || fact(outs[0], proxy.FactResponseBytes) != fmt.Sprint(len(got)) {
				t.Errorf("facts %v", outs[0].Execution)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
			if m := fact(outs[0], spec.FactServedModel); !tc.wantTruncated && m != modelOf(body)+servedSuffix {
				t.Errorf("servedModel %q", m)
			}
		})
	}
}

// TestShutdownTimeout: a Shutdown whose context ends while a request is
// in flight reports it, and still saves the layout's index; a later
// Shutdown waits for the record.
func TestShutdownTimeout(t *testing.T) {
	hs := newHarness(t, nil, proxy.Options{IndexSaveInterval: time.Hour})
	hs.up.gate = make(chan struct{})
	path, body := request(capture.FormatAnthropicMessages, "Slow.", true)
	res, err := http.Post(hs.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	if _, err := r.ReadString('\n'); err != nil { // the request is in flight
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := hs.h.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a request in flight: %v", err)
	}
	id := res.Header.Get(proxy.DefaultIdentityHeader)
	index, err := os.ReadFile(filepath.Join(hs.dir, "index.json"))
	if err != nil || !strings.Contains(string(index), strings.TrimPrefix(id, "sha256:")) {
		t.Errorf("index.json does not list the identity %s after Shutdown (%v):\n%s", id, err, index)
	}
	close(hs.up.gate)
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
	hs.shutdown()
	fresh, err := oci.New(hs.dir)
	if err != nil {
		t.Fatal(err)
	}
	if outs := outputs(t, fresh, id); len(outs) != 1 || fact(outs[0], spec.FactStatus) != spec.StatusSucceeded {
		t.Errorf("records %v, want one that succeeded", outs)
	}
}
