package capture_test

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/spec"
)

// requestsDir holds the realistic request bodies.
const requestsDir = "../../testdata/requests"

// fixture is a request body of testdata/requests.
type fixture struct {
	file, format string
}

// fixtures lists every request body, with its format (the file name up to
// the first dot or second dash).
func fixtures(t *testing.T) []fixture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(requestsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no request bodies in %s: %v", requestsDir, err)
	}
	var out []fixture
	for _, f := range files {
		base := filepath.Base(f)
		format := ""
		for _, fm := range capture.Formats() {
			if strings.HasPrefix(base, fm+".") || strings.HasPrefix(base, fm+"-") {
				format = fm
			}
		}
		if format == "" {
			t.Fatalf("%s: name does not start with a format (%v)", base, capture.Formats())
		}
		out = append(out, fixture{file: f, format: format})
	}
	for _, fm := range capture.Formats() {
		if !slices.ContainsFunc(out, func(f fixture) bool { return f.format == fm }) {
			t.Errorf("no request body of format %s in %s", fm, requestsDir)
		}
	}
	return out
}

func canonical(t *testing.T, b []byte) string {
	t.Helper()
	c, err := spec.Canonicalize(b)
	if err != nil {
		t.Fatalf("canonicalize: %v\n%s", err, b)
	}
	return string(c)
}

// rebuild rebuilds the request of a composition.
func rebuild(t *testing.T, c *pack.Composition) string {
	t.Helper()
	b, err := capture.Rebuild(t.Context(), c, capture.RebuildOptions{})
	if err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	return string(b)
}

// TestRoundTrip imports every realistic request, rebuilds it from the
// composition in memory and from the files written, and compares both with
// the original as JSON.
func TestRoundTrip(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(filepath.Base(fx.file), func(t *testing.T) {
			body := testutil.ReadFile(t, fx.file)
			want := canonical(t, body)

			imp, err := capture.Import(t.Context(), fx.format, body, capture.Options{})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if got := rebuild(t, imp.Composition); got != want {
				t.Errorf("rebuilt from memory:\n got %s\nwant %s", got, want)
			}

			dir := t.TempDir()
			res, err := capture.ImportDir(t.Context(), fx.format, body, dir, capture.DirOptions{})
			if err != nil {
				t.Fatalf("ImportDir: %v", err)
			}
			if res.Digest != imp.Composition.Digest() {
				t.Errorf("ImportDir digest %s, Import digest %s", res.Digest, imp.Composition.Digest())
			}
			loaded, err := pack.Load(t.Context(), res.Declaration, pack.BuildOptions{})
			if err != nil {
				t.Fatalf("Load %s: %v", res.Declaration, err)
			}
			if loaded.Digest() != imp.Composition.Digest() {
				t.Errorf("files written have digest %s, the request %s", loaded.Digest(), imp.Composition.Digest())
			}
			if got := rebuild(t, loaded); got != want {
				t.Errorf("rebuilt from files:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// components returns the names of the composition's components by role,
// and their formats by name.
func components(c *pack.Composition) (map[string][]string, map[string]string) {
	names, formats := map[string][]string{}, map[string]string{}
	for _, comp := range c.Components {
		names[comp.Role] = append(names[comp.Role], comp.Name)
		_, f, _ := mediatype.ParseComponent(comp.MediaType)
		formats[comp.Name] = f
	}
	return names, formats
}

// jsonComponent decodes the json component named name.
func jsonComponent(t *testing.T, c *pack.Composition, name string) map[string]any {
	t.Helper()
	for _, comp := range c.Components {
		if comp.Name != name {
			continue
		}
		rc, err := comp.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var v map[string]any
		if err := json.NewDecoder(rc).Decode(&v); err != nil {
			t.Fatalf("component %s: %v", name, err)
		}
		return v
	}
	t.Fatalf("no component %s", name)
	return nil
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestMapping checks where the fields of each realistic request go.
func TestMapping(t *testing.T) {
	type want struct {
		provider, model string
		roles           map[string][]string // role → component names; absent: none
		formats         map[string]string   // component name → format, where it matters
		parameters      []string            // keys of parameters.json, sorted
		config          []string            // keys of config/request.json, sorted
		warnings        int
	}
	tests := map[string]want{
		"openai-chat.json": {
			provider: "openai", model: "gpt-4o-2024-08-06",
			roles: map[string][]string{
				"model": {"model.json"}, "parameters": {"parameters.json"},
				"system-prompt": {"system-prompt/system.md"},
				"tools":         {"tools/get_order.json", "tools/get_shipment.json"},
				"input":         {"input/messages.json"}, "config": {"config/request.json"}, "runtime": {"runtime.json"},
			},
			formats: map[string]string{"system-prompt/system.md": "text"},
			parameters: []string{"frequency_penalty", "logit_bias", "max_completion_tokens", "n", "parallel_tool_calls",
				"presence_penalty", "response_format", "seed", "stop", "temperature", "tool_choice", "top_p"},
			config: []string{"metadata", "service_tier", "store", "stream", "stream_options", "user"},
		},
		"openai-chat-developer.json": {
			provider: "openai", model: "o3-mini-2025-01-31",
			roles: map[string][]string{
				"model": {"model.json"}, "parameters": {"parameters.json"},
				"system-prompt": {"system-prompt/1-developer.md", "system-prompt/2-developer.json"},
				"input":         {"input/messages.json"}, "config": {"config/request.json"}, "runtime": {"runtime.json"},
			},
			formats:    map[string]string{"system-prompt/1-developer.md": "text", "system-prompt/2-developer.json": "json"},
			parameters: []string{"max_completion_tokens", "reasoning_effort", "response_format", "seed"},
			config:     []string{"store"},
		},
		"openai-responses.json": {
			provider: "openai", model: "o4-mini-2025-04-16",
			roles: map[string][]string{
				"model": {"model.json"}, "parameters": {"parameters.json"},
				"system-prompt": {"system-prompt/instructions.md"},
				"tools":         {"tools/check_travel_policy.json", "tools/search_flights.json", "tools/web_search_preview.json"},
				"input":         {"input/input.json"}, "config": {"config/request.json"}, "runtime": {"runtime.json"},
			},
			formats:    map[string]string{"system-prompt/instructions.md": "text"},
			parameters: []string{"max_output_tokens", "parallel_tool_calls", "reasoning", "text", "tool_choice"},
			config:     []string{"include", "metadata", "store", "stream", "truncation", "user"},
		},
		"openai-responses-followup.json": {
			provider: "openai", model: "gpt-4.1-2025-04-14",
			roles: map[string][]string{
				"model": {"model.json"}, "parameters": {"parameters.json"},
				"system-prompt": {"system-prompt/instructions.md"},
				"tools":         {"tools/web_search_preview.json"},
				"input":         {"input/input.txt"}, "config": {"config/request.json"}, "runtime": {"runtime.json"},
			},
			formats:    map[string]string{"input/input.txt": "text"},
			parameters: []string{"max_output_tokens", "temperature", "top_p"},
			config:     []string{"previous_response_id", "store", "stream"},
			warnings:   1,
		},
		"anthropic-messages.json": {
			provider: "anthropic", model: "claude-sonnet-4-20250514",
			roles: map[string][]string{
				"model": {"model.json"}, "parameters": {"parameters.json"},
				"system-prompt": {"system-prompt/system.json"},
				"tools":         {"tools/read_file.json", "tools/post_review_comment.json"},
				"input":         {"input/messages.json"}, "config": {"config/request.json"}, "runtime": {"runtime.json"},
			},
			formats:    map[string]string{"system-prompt/system.json": "json"},
			parameters: []string{"max_tokens", "stop_sequences", "thinking", "tool_choice"},
			config:     []string{"metadata", "service_tier", "stream"},
		},
		"anthropic-messages-sampling.json": {
			provider: "anthropic", model: "claude-3-5-haiku-20241022",
			roles: map[string][]string{
				"model": {"model.json"}, "parameters": {"parameters.json"},
				"system-prompt": {"system-prompt/system.md"},
				"input":         {"input/messages.json"}, "config": {"config/request.json"}, "runtime": {"runtime.json"},
			},
			formats:    map[string]string{"system-prompt/system.md": "text"},
			parameters: []string{"max_tokens", "stop_sequences", "temperature", "top_k", "top_p"},
			config:     []string{"metadata", "stream"},
		},
	}
	for _, fx := range fixtures(t) {
		base := filepath.Base(fx.file)
		t.Run(base, func(t *testing.T) {
			w, ok := tests[base]
			if !ok {
				t.Fatalf("no expected mapping for %s; add one", base)
			}
			imp, err := capture.Import(t.Context(), fx.format, testutil.ReadFile(t, fx.file), capture.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := imp.Composition
			names, formats := components(c)
			for _, role := range mediatype.CoreRoles() {
				state := c.Identity.Document.Roles[role]
				wantState := mediatype.StateNone
				if len(w.roles[role]) > 0 {
					wantState = mediatype.StatePresent
				}
				if state != wantState {
					t.Errorf("role %s is %s, want %s", role, state, wantState)
				}
				if !slices.Equal(names[role], w.roles[role]) {
					t.Errorf("role %s: components %q, want %q", role, names[role], w.roles[role])
				}
			}
			for name, f := range w.formats {
				if formats[name] != f {
					t.Errorf("component %s has format %s, want %s", name, formats[name], f)
				}
			}
			model := jsonComponent(t, c, "model.json")
			if model["provider"] != w.provider || model["name"] != w.model || len(model) != 2 {
				t.Errorf("model.json = %v, want provider %s, name %s", model, w.provider, w.model)
			}
			if got := keys(jsonComponent(t, c, "parameters.json")); !slices.Equal(got, w.parameters) {
				t.Errorf("parameters.json has %q, want %q", got, w.parameters)
			}
			if got := keys(jsonComponent(t, c, "config/request.json")); !slices.Equal(got, w.config) {
				t.Errorf("config/request.json has %q, want %q", got, w.config)
			}
			rt := jsonComponent(t, c, "runtime.json")
			if rt["importer"] != "runid-oci" || rt["format"] != fx.format || rt["mapping"] != capture.MappingVersion || len(rt) != 3 {
				t.Errorf("runtime.json = %v", rt)
			}
			if len(imp.Warnings) != w.warnings {
				t.Errorf("warnings %q, want %d", imp.Warnings, w.warnings)
			}
		})
	}
}

// TestSystemMessageText: a text system-prompt component holds exactly the
// message's content.
func TestSystemMessageText(t *testing.T) {
	body := testutil.ReadFile(t, filepath.Join(requestsDir, "openai-chat.json"))
	var req struct {
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	var want string
	if err := json.Unmarshal(req.Messages[0].Content, &want); err != nil {
		t.Fatal(err)
	}
	imp, err := capture.Import(t.Context(), capture.FormatOpenAIChat, body, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	parts, none := imp.Run.Parts(mediatype.RoleSystemPrompt)
	if none || len(parts) != 1 {
		t.Fatalf("system-prompt parts %v, none %v", parts, none)
	}
	if got := string(parts[0].Data); got != want {
		t.Errorf("system prompt %q, want %q", got, want)
	}
}

// TestCredentialsDropped adds credentials to realistic requests: they are
// reported by name, appear in no component and in no file written, and the
// rebuilt request is the original without them.
func TestCredentialsDropped(t *testing.T) {
	const marker = "MARKER-7d1e55c0-credential-value"
	inject := map[string]any{
		"api_key":             marker + "-1",
		"Authorization":       "Bearer " + marker + "-2",
		"OpenAI-Organization": marker + "-3",
		"x-api-key":           marker + "-4",
		"organization":        marker + "-5",
	}
	nested := map[string]map[string]any{
		"metadata":      {"anthropic-api-key": marker + "-6", "openai_project": marker + "-7"},
		"extra_headers": {"authorization": "Bearer " + marker + "-8", "X-Trace": "kept"},
	}
	wantDropped := []string{"Authorization", "OpenAI-Organization", "api_key", "extra_headers.authorization",
		"metadata.anthropic-api-key", "metadata.openai_project", "organization", "x-api-key"}
	for _, fx := range fixtures(t) {
		t.Run(filepath.Base(fx.file), func(t *testing.T) {
			orig := testutil.ReadFile(t, fx.file)
			var req map[string]any
			if err := json.Unmarshal(orig, &req); err != nil {
				t.Fatal(err)
			}
			// The request without credentials, as the rebuilt one must be.
			clean := map[string]any{}
			for k, v := range req {
				clean[k] = v
			}
			if _, ok := clean["metadata"]; !ok {
				clean["metadata"] = map[string]any{}
			}
			clean["extra_headers"] = map[string]any{"X-Trace": "kept"}
			withCreds := map[string]any{}
			for k, v := range clean {
				withCreds[k] = v
			}
			for k, v := range inject {
				withCreds[k] = v
			}
			for c, kv := range nested {
				m := map[string]any{}
				for k, v := range clean[c].(map[string]any) {
					m[k] = v
				}
				for k, v := range kv {
					m[k] = v
				}
				withCreds[c] = m
			}
			body, err := json.Marshal(withCreds)
			if err != nil {
				t.Fatal(err)
			}
			cleanBody, err := json.Marshal(clean)
			if err != nil {
				t.Fatal(err)
			}

			dir := t.TempDir()
			res, err := capture.ImportDir(t.Context(), fx.format, body, dir, capture.DirOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var reported []string
			for _, w := range res.Warnings {
				if strings.Contains(w, marker) {
					t.Errorf("warning discloses a credential value: %s", w)
				}
				if name, ok := strings.CutPrefix(w, "dropped "); ok {
					reported = append(reported, strings.Trim(strings.Fields(name)[0], `":`))
				}
			}
			if !slices.Equal(reported, wantDropped) {
				t.Errorf("reported dropped %q, want %q", reported, wantDropped)
			}
			err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				if data := testutil.ReadFile(t, p); strings.Contains(string(data), "credential-value") {
					t.Errorf("%s holds a credential", p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			imp, err := capture.Import(t.Context(), fx.format, body, capture.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, comp := range imp.Composition.Components {
				if strings.Contains(string(testutil.ComponentBytes(t, comp)), "credential-value") {
					t.Errorf("component %s holds a credential", comp.Name)
				}
			}
			if got, want := rebuild(t, imp.Composition), canonical(t, cleanBody); got != want {
				t.Errorf("rebuilt:\n got %s\nwant %s", got, want)
			}
		})
	}
}
