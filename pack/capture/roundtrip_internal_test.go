package capture

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
)

// TestImportFailsWithoutRoundTrip breaks the mapping of a format in ways
// that lose or change part of a request, and checks that Import refuses
// every such request with ErrRoundTrip: the round-trip check compares the
// request rebuilt from the composition with the request itself, and is
// not skipped by anything that makes Import faster.
func TestImportFailsWithoutRoundTrip(t *testing.T) {
	bodies := map[string]string{
		"plain":      `{"model":"m","messages":[{"role":"system","content":"s <b>&</b>"},{"role":"user","content":"u"}],"temperature":0.2,"max_tokens":256,"metadata":{"a":"b"}}`,
		"credential": `{"model":"m","messages":[{"role":"user","content":"u"}],"api_key":"k","metadata":{"authorization":"a","x":"y"}}`,
		"unicode":    `{"model":"m","messages":[{"role":"user","content":"\u2028 😀"}],"metadata":{"😀":1,"｡":2}}`,
	}
	breakages := []struct {
		name  string
		split func(req fields, run *pack.Run)
		join  func(sys, input []part, out fields) error
	}{
		{name: "split drops a config field", split: func(req fields, run *pack.Run) {
			splitChat(req, run)
			delete(req, "metadata")
		}},
		{name: "split changes the input", split: func(req fields, run *pack.Run) {
			take(req, "messages")
			run.None(mediatype.RoleSystemPrompt)
			run.Add(mediatype.RoleInput, pack.JSON(messagesName, json.RawMessage(`[{"role":"user","content":"other"}]`)))
		}},
		{name: "split loses the system prompt", split: func(req fields, run *pack.Run) {
			v, _ := take(req, "messages")
			msgs, _ := asArray(v)
			run.None(mediatype.RoleSystemPrompt)
			run.Add(mediatype.RoleInput, pack.JSON(messagesName, msgs[1:]))
		}},
		{name: "join adds a field", join: func(sys, input []part, out fields) error {
			out["extra"] = json.RawMessage(`true`)
			return joinChat(sys, input, out)
		}},
		{name: "join drops the input", join: func(sys, input []part, out fields) error {
			return joinChat(sys, nil, out)
		}},
		{name: "join changes the model", join: func(sys, input []part, out fields) error {
			if err := joinChat(sys, input, out); err != nil {
				return err
			}
			out["model"] = json.RawMessage(`"n"`)
			return nil
		}},
	}
	saved := formats[FormatOpenAIChat]
	defer func() { formats[FormatOpenAIChat] = saved }()
	for _, b := range breakages {
		for name, body := range bodies {
			t.Run(b.name+"/"+name, func(t *testing.T) {
				f := saved
				if b.split != nil {
					f.split = b.split
				}
				if b.join != nil {
					f.join = b.join
				}
				formats[FormatOpenAIChat] = f
				defer func() { formats[FormatOpenAIChat] = saved }()
				imp, err := Import(t.Context(), FormatOpenAIChat, []byte(body), Options{})
				if !errors.Is(err, ErrRoundTrip) {
					t.Fatalf("Import = %v, %v; want ErrRoundTrip", imp, err)
				}
			})
		}
	}
	// The mapping restored, every body imports.
	for name, body := range bodies {
		if _, err := Import(t.Context(), FormatOpenAIChat, []byte(body), Options{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
