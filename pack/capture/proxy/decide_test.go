package proxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/spec"
)

// denyTemperature is an Options.Decide that denies requests whose
// temperature is not 0, reading the composition as a policy would.
func denyTemperature(asked *atomic.Int64) func(context.Context, *pack.Composition) proxy.Decision {
	return func(_ context.Context, comp *pack.Composition) proxy.Decision {
		asked.Add(1)
		for _, c := range comp.Components {
			if c.Role == mediatype.RoleParameters {
				rc, err := c.Open()
				if err != nil {
					return proxy.Decision{Reasons: []string{err.Error()}}
				}
				var params struct{ Temperature *float64 }
				err = json.NewDecoder(rc).Decode(&params)
				rc.Close()
				if err != nil || params.Temperature == nil || *params.Temperature != 0 {
					return proxy.Decision{Reasons: []string{"parameters: temperature must be 0", "second reason"}}
				}
			}
		}
		return proxy.Decision{Allowed: true}
	}
}

// TestDecide: a denied request gets 403 in the proxy's error shape with
// the identity headers, never reaches the upstream, and leaves its
// identity with a failed record that holds the reasons; an allowed one is
// forwarded as usual.
func TestDecide(t *testing.T) {
	var asked atomic.Int64
	hs := newHarness(t, nil, proxy.Options{Decide: denyTemperature(&asked)})
	path, allowed := request(capture.FormatOpenAIChat, "hello", false)
	denied := strings.Replace(allowed, `"temperature":0`, `"temperature":0.9`, 1)

	res, b := hs.post(path, allowed, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("allowed: %d %s", res.StatusCode, b)
	}
	res, b = hs.post(path, denied, nil)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("denied: %d %s", res.StatusCode, b)
	}
	typ, code, msg := apiError(t, b)
	id := res.Header.Get(proxy.DefaultIdentityHeader)
	if typ != "runid_denied" || code != "policy_denied" || !strings.Contains(msg, "denied by policy: parameters: temperature must be 0; second reason") || !strings.Contains(msg, id) {
		t.Errorf("403 error %s %s %q", typ, code, msg)
	}
	if id != identityOf(t, capture.FormatOpenAIChat, denied).String() || res.Header.Get(proxy.DefaultInstanceHeader) == "" {
		t.Errorf("identity header %q", id)
	}
	if n := hs.up.calls.Load(); n != 1 {
		t.Fatalf("the upstream saw %d requests, want 1 (the allowed one)", n)
	}
	hs.shutdown()
	if asked.Load() != 2 {
		t.Errorf("Decide asked %d times, want 2", asked.Load())
	}
	var rec *proxy.Record
	for _, r := range hs.recorded() {
		if r.Identity.String() == id {
			rec = &r
		}
	}
	if rec == nil || rec.Err != nil || rec.Output == "" || rec.Status != spec.StatusFailed || rec.HTTPStatus != 0 {
		t.Fatalf("record of the denied request: %+v", rec)
	}
	nodes := outputs(t, hs.store, id)
	if len(nodes) != 1 || fact(nodes[0], proxy.FactDenied) == "" || !strings.HasPrefix(fact(nodes[0], proxy.FactError), "denied by policy:") || fact(nodes[0], proxy.FactUpstream) != "" {
		t.Fatalf("stored record: %+v", nodes)
	}
}

// TestDecideFailClosed: with Decide set, a request that cannot be
// imported is refused even with ForwardUndeclared, and a denied request
// whose identity cannot be stored is still refused (403), not forwarded.
func TestDecideFailClosed(t *testing.T) {
	var asked atomic.Int64
	hs := newHarness(t, nil, proxy.Options{Decide: denyTemperature(&asked), OnStoreError: proxy.ForwardUndeclared})
	res, b := hs.post("/v1/chat/completions", `this is not JSON`, nil)
	if res.StatusCode != http.StatusBadRequest || hs.up.calls.Load() != 0 {
		t.Fatalf("unimportable: %d %s; upstream calls %d", res.StatusCode, b, hs.up.calls.Load())
	}
	hs.shutdown()

	broken := newHarness(t, brokenStore{}, proxy.Options{Decide: denyTemperature(&asked), OnStoreError: proxy.ForwardUndeclared})
	path, body := request(capture.FormatOpenAIChat, "hello", false)
	res, b = broken.post(path, strings.Replace(body, `"temperature":0`, `"temperature":1`, 1), nil)
	if res.StatusCode != http.StatusForbidden || broken.up.calls.Load() != 0 || res.Header.Get(proxy.DefaultIdentityHeader) != "" {
		t.Fatalf("denied, store down: %d %s; upstream calls %d", res.StatusCode, b, broken.up.calls.Load())
	}
	if _, _, msg := apiError(t, b); !strings.Contains(msg, "could not be declared") {
		t.Errorf("message %q", msg)
	}
	// Allowed while the store is down: ForwardUndeclared applies.
	res, b = broken.post(path, body, nil)
	if res.StatusCode != http.StatusOK || broken.up.calls.Load() != 1 {
		t.Fatalf("allowed, store down, forward: %d %s", res.StatusCode, b)
	}
	broken.shutdown()
}

// TestDecideTooLarge: with Decide set, a body over MaxRequestBody cannot be
// decided on and is refused even with ForwardUndeclared.
func TestDecideTooLarge(t *testing.T) {
	var asked atomic.Int64
	hs := newHarness(t, nil, proxy.Options{Decide: denyTemperature(&asked), OnStoreError: proxy.ForwardUndeclared, MaxRequestBody: 64})
	path, body := request(capture.FormatOpenAIChat, strings.Repeat("long ", 100), false)
	res, b := hs.post(path, body, nil)
	if res.StatusCode != http.StatusRequestEntityTooLarge || hs.up.calls.Load() != 0 || asked.Load() != 0 {
		t.Fatalf("too large: %d %s; upstream calls %d", res.StatusCode, b, hs.up.calls.Load())
	}
	hs.shutdown()
}
