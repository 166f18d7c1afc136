package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"oras.land/oras-go/v2/content/memory"

	"github.com/runid/runid-oci/pack/capture/proxy"
	"github.com/runid/runid-oci/pull"
)

// ExampleNew puts a recording proxy in front of a model API (here a
// stand-in) and an in-memory store: the request gets its identity before
// it is forwarded, and the response becomes an output record of it.
func ExampleNew() {
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}]}`)
	}))
	defer model.Close()

	store := memory.New()
	upstream, _ := url.Parse(model.URL)
	h, err := proxy.New(store, upstream, proxy.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h)

	// The agent talks to the proxy as it would to the API.
	res, err := http.Post(srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()
	id := res.Header.Get(proxy.DefaultIdentityHeader)

	srv.Close()
	if err := h.Shutdown(context.Background()); err != nil { // waits for the record
		fmt.Println(err)
		return
	}
	tree, err := pull.Discover(context.Background(), store, id, pull.DiscoverOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := tree.Referrers[0]
	fmt.Println(res.StatusCode, strings.Contains(string(answer), "Hello!"))
	fmt.Println("identity:", tree.Kind, tree.Digest.String() == id)
	fmt.Println("record:", rec.Kind, rec.Execution["status"], rec.Execution["servedModel"], rec.Execution["httpStatus"])
	// Output:
	// 200 true
	// identity: identity true
	// record: output succeeded gpt-4o-mini-2024-07-18 200
}
