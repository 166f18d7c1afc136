package capture_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/capture"
)

// TestRoundTripEdgeCases imports small requests at the edges of each
// mapping and checks that they rebuild, and where their parts went.
func TestRoundTripEdgeCases(t *testing.T) {
	tests := []struct {
		name, format, body string
		// roles maps a role to its component names; "none" for none.
		roles    map[string]string
		warnings []string // substrings, one per warning
	}{
		{name: "chat only system messages", format: "openai-chat",
			body:  `{"model":"m","messages":[{"role":"system","content":"a"},{"role":"developer","content":"b"}]}`,
			roles: map[string]string{"system-prompt": "system-prompt/1-system.md system-prompt/2-developer.md", "input": "none", "parameters": "none", "config": "none", "tools": "none"}},
		{name: "chat empty messages", format: "openai-chat",
			body:  `{"model":"m","messages":[]}`,
			roles: map[string]string{"system-prompt": "none", "input": "input/messages.json"}},
		{name: "chat no messages no model", format: "openai-chat",
			body:  `{"temperature":0}`,
			roles: map[string]string{"system-prompt": "none", "input": "none", "parameters": "parameters.json", "model": "model.json"}},
		{name: "chat messages not an array", format: "openai-chat",
			body:  `{"model":"m","messages":"hello"}`,
			roles: map[string]string{"system-prompt": "none", "input": "input/messages.json"}},
		{name: "chat system message not first stays in input", format: "openai-chat",
			body:  `{"model":"m","messages":[{"role":"user","content":"u"},{"role":"system","content":"s"}]}`,
			roles: map[string]string{"system-prompt": "none", "input": "input/messages.json"}},
		{name: "chat system message with array content", format: "openai-chat",
			body:  `{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"s"}]},{"role":"user","content":"u"}]}`,
			roles: map[string]string{"system-prompt": "system-prompt/system.json"}},
		{name: "chat empty system content", format: "openai-chat",
			body:  `{"model":"m","messages":[{"role":"system","content":""},{"role":"user","content":"u"}]}`,
			roles: map[string]string{"system-prompt": "system-prompt/system.md"}},
		{name: "chat empty tools array stays in config", format: "openai-chat",
			body:  `{"model":"m","messages":[],"tools":[]}`,
			roles: map[string]string{"tools": "none", "config": "config/request.json"}},
		{name: "chat deprecated functions", format: "openai-chat",
			body:  `{"model":"m","messages":[],"functions":[{"name":"f","parameters":{}}],"function_call":"auto","tools":[{"type":"function","function":{"name":"f"}}]}`,
			roles: map[string]string{"tools": "tools/f.json tools/functions/f.json", "parameters": "parameters.json"}},
		{name: "chat tools with repeated, odd and missing names", format: "openai-chat",
			body:  `{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"Get"}},{"type":"function","function":{"name":"get"}},{"type":"function","function":{"name":"a/b:c ..."}},{"type":"function","function":{}},"not an object",{"type":"function","function":{"name":"..."}}]}`,
			roles: map[string]string{"tools": "tools/Get.json tools/get-2.json tools/a_b_c_.json tools/function.json tools/tool-5.json tools/tool-6.json"}},
		{name: "tools named like Windows devices", format: "anthropic-messages",
			body:  `{"tools":[{"name":"con"},{"name":"aux.x"},{"name":"COM1"},{"name":"console"}]}`,
			roles: map[string]string{"tools": "tools/_con.json tools/_aux.x.json tools/_COM1.json tools/console.json"}},
		{name: "chat long tool name", format: "openai-chat",
			body:  `{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"` + strings.Repeat("x", 300) + `"}}]}`,
			roles: map[string]string{"tools": "tools/" + strings.Repeat("x", 100) + ".json"}},
		{name: "chat unknown fields go to config", format: "openai-chat",
			body:  `{"model":"m","messages":[],"x_vendor":{"a":[1,2]},"safety_identifier":"s","prediction":{"type":"content","content":"c"}}`,
			roles: map[string]string{"config": "config/request.json", "parameters": "none"}},
		{name: "chat large integer", format: "openai-chat",
			body:     `{"model":"m","messages":[],"seed":12345678901234567890}`,
			roles:    map[string]string{"parameters": "parameters.json"},
			warnings: []string{"integer at seed is beyond 2^53"}},
		{name: "chat model not a string", format: "openai-chat",
			body:  `{"model":{"id":"m"},"messages":[]}`,
			roles: map[string]string{"model": "model.json"}},
		{name: "responses string input", format: "openai-responses",
			body:  `{"model":"m","input":"hi"}`,
			roles: map[string]string{"system-prompt": "none", "input": "input/input.txt"}},
		{name: "responses only developer items", format: "openai-responses",
			body:  `{"model":"m","input":[{"role":"developer","content":"d"},{"type":"message","role":"system","content":"s"}]}`,
			roles: map[string]string{"system-prompt": "system-prompt/1-developer.md system-prompt/2-system.json", "input": "none"}},
		{name: "responses instructions and developer item", format: "openai-responses",
			body:  `{"model":"m","instructions":"i","input":[{"role":"developer","content":"d"},{"role":"user","content":"u"}]}`,
			roles: map[string]string{"system-prompt": "system-prompt/instructions.md system-prompt/developer.md", "input": "input/input.json"}},
		{name: "responses instructions not a string", format: "openai-responses",
			body:  `{"model":"m","instructions":null,"input":[]}`,
			roles: map[string]string{"system-prompt": "system-prompt/instructions.json", "input": "input/input.json"}},
		{name: "responses no input", format: "openai-responses",
			body:     `{"model":"m","prompt":{"id":"pmpt_1","version":"2"},"conversation":"conv_1"}`,
			roles:    map[string]string{"system-prompt": "none", "input": "none", "config": "config/request.json"},
			warnings: []string{"(conversation)", "(prompt)"}},
		{name: "responses item of another type is not system", format: "openai-responses",
			body:  `{"model":"m","input":[{"type":"reasoning","role":"system","summary":[]}]}`,
			roles: map[string]string{"system-prompt": "none", "input": "input/input.json"}},
		{name: "responses mcp tool", format: "openai-responses",
			body:  `{"model":"m","input":"x","tools":[{"type":"mcp","server_label":"deepwiki","server_url":"https://mcp.example/sse"}]}`,
			roles: map[string]string{"tools": "tools/deepwiki.json"}},
		{name: "anthropic no system", format: "anthropic-messages",
			body:  `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"u"}]}`,
			roles: map[string]string{"system-prompt": "none", "input": "input/messages.json", "config": "none"}},
		{name: "anthropic empty system", format: "anthropic-messages",
			body:  `{"model":"m","max_tokens":1,"system":"","messages":[]}`,
			roles: map[string]string{"system-prompt": "system-prompt/system.md"}},
		{name: "anthropic server tool and container", format: "anthropic-messages",
			body:     `{"model":"m","max_tokens":1,"messages":[],"container":"container_1","tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}]}`,
			roles:    map[string]string{"tools": "tools/web_search.json"},
			warnings: []string{"(container)"}},
		{name: "unicode and escapes", format: "anthropic-messages",
			body:  `{"model":"m","max_tokens":1,"system":"Grüße \u2028 \"quoted\" \\ tab\t<>&","messages":[{"role":"user","content":"\ud83d\ude00"}]}`,
			roles: map[string]string{"system-prompt": "system-prompt/system.md"}},
		{name: "empty object", format: "anthropic-messages",
			body:  `{}`,
			roles: map[string]string{"model": "model.json", "parameters": "none", "system-prompt": "none", "tools": "none", "input": "none", "config": "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp, err := capture.Import(t.Context(), tt.format, []byte(tt.body), capture.Options{})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if got, want := rebuild(t, imp.Composition), canonical(t, []byte(tt.body)); got != want {
				t.Errorf("rebuilt:\n got %s\nwant %s", got, want)
			}
			names, _ := components(imp.Composition)
			for role, want := range tt.roles {
				got := strings.Join(names[role], " ")
				if got == "" {
					got = "none"
				}
				if got != want {
					t.Errorf("role %s: %s, want %s", role, got, want)
				}
				if st := imp.Composition.Identity.Document.Roles[role]; (want == "none") != (st == mediatype.StateNone) {
					t.Errorf("role %s has state %s", role, st)
				}
			}
			if len(imp.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %d", imp.Warnings, len(tt.warnings))
			}
			for i, w := range tt.warnings {
				if !strings.Contains(imp.Warnings[i], w) {
					t.Errorf("warning %q does not say %q", imp.Warnings[i], w)
				}
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name, format, body string
		want               error
	}{
		{"unknown format", "openai-completions", `{}`, capture.ErrUnknownFormat},
		{"empty format", "", `{}`, capture.ErrUnknownFormat},
		{"not JSON", "openai-chat", `model: gpt-4o`, capture.ErrInvalidRequest},
		{"empty body", "openai-chat", ``, capture.ErrInvalidRequest},
		{"array", "openai-chat", `[{"model":"m"}]`, capture.ErrInvalidRequest},
		{"null", "anthropic-messages", `null`, capture.ErrInvalidRequest},
		{"string", "openai-responses", `"hi"`, capture.ErrInvalidRequest},
		{"duplicate keys", "openai-chat", `{"model":"a","model":"b"}`, capture.ErrInvalidRequest},
		{"nested duplicate keys", "openai-chat", `{"messages":[{"role":"user","role":"system"}]}`, capture.ErrInvalidRequest},
		{"trailing data", "openai-chat", `{"model":"m"} {}`, capture.ErrInvalidRequest},
		{"lone surrogate", "openai-chat", `{"model":"\ud800"}`, capture.ErrInvalidRequest},
		{"invalid UTF-8 in a string", "anthropic-messages", "{\"system\":\"a\xffb\"}", capture.ErrInvalidRequest},
		{"invalid UTF-8 in a key", "openai-chat", "{\"x\xff\":1}", capture.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp, err := capture.Import(t.Context(), tt.format, []byte(tt.body), capture.Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Import: %v, want %v", err, tt.want)
			}
			if imp != nil {
				t.Errorf("Import returned %v with an error", imp)
			}
		})
	}
}

// TestProvider: Options.Provider replaces the default provider, and so
// the identity, but not the rebuilt request.
func TestProvider(t *testing.T) {
	body := testutil.ReadFile(t, filepath.Join(requestsDir, "openai-chat.json"))
	def, err := capture.Import(t.Context(), capture.FormatOpenAIChat, body, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := capture.Import(t.Context(), capture.FormatOpenAIChat, body, capture.Options{Provider: "azure-openai"})
	if err != nil {
		t.Fatal(err)
	}
	if p := jsonComponent(t, other.Composition, capture.ModelName)["provider"]; p != "azure-openai" {
		t.Errorf("provider %v, want azure-openai", p)
	}
	if def.Composition.Digest() == other.Composition.Digest() {
		t.Error("another provider gives the same identity")
	}
	if rebuild(t, def.Composition) != rebuild(t, other.Composition) {
		t.Error("the provider changes the rebuilt request")
	}
}

// TestDeterministic: the same request, with members in another order and
// other whitespace, has the same identity; any change of a field changes
// it.
func TestDeterministic(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(filepath.Base(fx.file), func(t *testing.T) {
			body := testutil.ReadFile(t, fx.file)
			a, err := capture.Import(t.Context(), fx.format, body, capture.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Canonical form: other member order, no whitespace.
			b, err := capture.Import(t.Context(), fx.format, []byte(canonical(t, body)), capture.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Composition.Digest() != b.Composition.Digest() {
				t.Errorf("reformatted request has identity %s, want %s", b.Composition.Digest(), a.Composition.Digest())
			}
			seen := map[string]string{a.Composition.Digest().String(): "original"}
			var req map[string]any
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatal(err)
			}
			for k := range req {
				changed := map[string]any{}
				for k2, v := range req {
					changed[k2] = v
				}
				changed[k] = "changed"
				c, err := capture.Import(t.Context(), fx.format, mustMarshal(t, changed), capture.Options{})
				if err != nil {
					t.Fatalf("change %s: %v", k, err)
				}
				d := c.Composition.Digest().String()
				if prev, dup := seen[d]; dup {
					t.Errorf("changing %s gives the identity of %s", k, prev)
				}
				seen[d] = k
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRebuildErrors(t *testing.T) {
	chat := testutil.ReadFile(t, filepath.Join(requestsDir, "openai-chat.json"))
	imported, err := capture.Import(t.Context(), capture.FormatOpenAIChat, chat, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// with returns the imported run with role's parts replaced.
	with := func(role string, parts ...pack.Part) *pack.Run {
		run := &pack.Run{}
		for _, r := range imported.Run.Roles() {
			p, none := imported.Run.Parts(r)
			switch {
			case r == role && len(parts) == 0:
				run.None(r)
			case r == role:
				run.Add(r, parts...)
			case none:
				run.None(r)
			default:
				run.Add(r, p...)
			}
		}
		return run
	}
	runtime := func(m map[string]string) pack.Part { return pack.JSON(capture.RuntimeName, m) }
	tests := []struct {
		name string
		run  *pack.Run
	}{
		{"no runtime", with(mediatype.RoleRuntime)},
		{"runtime of another tool", with(mediatype.RoleRuntime, runtime(map[string]string{"importer": "other", "mapping": "1", "format": "openai-chat"}))},
		{"unknown format", with(mediatype.RoleRuntime, runtime(map[string]string{"importer": "runid-oci", "mapping": "1", "format": "gemini"}))},
		{"other mapping", with(mediatype.RoleRuntime, runtime(map[string]string{"importer": "runid-oci", "mapping": "0", "format": "openai-chat"}))},
		{"context", with(mediatype.RoleContext, pack.Text("context/doc.md", "d"))},
		{"two inputs", with(mediatype.RoleInput, pack.JSON("input/messages.json", []int{}), pack.JSON("input/more.json", []int{}))},
		{"input of another name", with(mediatype.RoleInput, pack.JSON("input/conversation.json", []int{}))},
		{"input not an array after system", with(mediatype.RoleInput, pack.JSON("input/messages.json", "x"))},
		{"config of another name", with(mediatype.RoleConfig, pack.JSON("config/agent.json", map[string]int{}))},
		{"config not an object", with(mediatype.RoleConfig, pack.JSON(capture.ConfigName, []int{}))},
		{"parameter also in config", with(mediatype.RoleConfig, pack.JSON(capture.ConfigName, map[string]int{"temperature": 1}))},
		{"model not an object", with(mediatype.RoleModel, pack.JSON(capture.ModelName, "gpt-4o"))},
		{"tool outside tools/", with(mediatype.RoleTools, pack.JSON("tools/x/y.json", map[string]int{}))},
		{"system prompt not a message", with(mediatype.RoleSystemPrompt, pack.Text("system-prompt/user.md", "x"))},
		{"system prompt yaml", with(mediatype.RoleSystemPrompt, pack.JSON("system-prompt/system.json", map[string]string{"role": "system"}), pack.Text("system-prompt/prompt.md", "x"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.run.Compose(t.Context(), pack.BuildOptions{})
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			if _, err := capture.Rebuild(t.Context(), c, capture.RebuildOptions{}); !errors.Is(err, capture.ErrNotImported) {
				t.Errorf("Rebuild: %v, want ErrNotImported", err)
			}
		})
	}
	t.Run("an example declaration", func(t *testing.T) {
		c, err := pack.Load(t.Context(), filepath.Join("..", "..", "testdata", "examples", "rag-agent", "runid.yaml"), pack.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := capture.Rebuild(t.Context(), c, capture.RebuildOptions{}); !errors.Is(err, capture.ErrNotImported) {
			t.Errorf("Rebuild: %v, want ErrNotImported", err)
		}
	})
	t.Run("component over the cap", func(t *testing.T) {
		if _, err := capture.Rebuild(t.Context(), imported.Composition, capture.RebuildOptions{MaxComponentSize: 16}); !errors.Is(err, pack.ErrComponentTooLarge) {
			t.Errorf("Rebuild: %v, want ErrComponentTooLarge", err)
		}
	})
	t.Run("extension roles are ignored", func(t *testing.T) {
		run := with(mediatype.RoleRuntime, runtime(map[string]string{"importer": "runid-oci", "mapping": "1", "format": "openai-chat"}),
			pack.JSON("runtime/proxy.json", map[string]string{"name": "proxy"}))
		run.Add("com.example.capture", pack.Text("capture/note.txt", "captured"))
		c, err := run.Compose(t.Context(), pack.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rebuild(t, c), canonical(t, chat); got != want {
			t.Errorf("rebuilt:\n got %s\nwant %s", got, want)
		}
	})
}

func TestImportDirOverwrite(t *testing.T) {
	body := testutil.ReadFile(t, filepath.Join(requestsDir, "anthropic-messages.json"))
	dir := t.TempDir()
	first, err := capture.ImportDir(t.Context(), capture.FormatAnthropicMessages, body, dir, capture.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"model.json", "parameters.json", "system-prompt/system.json", "tools/read_file.json",
		"tools/post_review_comment.json", "input/messages.json", "config/request.json", "runtime.json"}
	if !slices.Equal(first.Files, wantFiles) {
		t.Errorf("files %q, want %q", first.Files, wantFiles)
	}
	if first.Declaration != filepath.Join(dir, pack.DeclarationFile) {
		t.Errorf("declaration %s", first.Declaration)
	}
	decl := testutil.ReadFile(t, first.Declaration)
	if !strings.HasPrefix(string(decl), "# Imported by runid-oci from a request body of format anthropic-messages") {
		t.Errorf("declaration does not start with its comment:\n%s", decl)
	}
	// Change a file: a second import refuses to overwrite it...
	tampered := filepath.Join(dir, "input", "messages.json")
	if err := os.WriteFile(tampered, []byte("[]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := capture.ImportDir(t.Context(), capture.FormatAnthropicMessages, body, dir, capture.DirOptions{}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second ImportDir: %v, want fs.ErrExist", err)
	}
	if got := string(testutil.ReadFile(t, tampered)); got != "[]\n" {
		t.Errorf("a refused import wrote %s", tampered)
	}
	// ...unless told to.
	again, err := capture.ImportDir(t.Context(), capture.FormatAnthropicMessages, body, dir, capture.DirOptions{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := pack.Digest(t.Context(), again.Declaration, pack.BuildOptions{}); err != nil || d != first.Digest {
		t.Errorf("digest after overwrite %s (%v), want %s", d, err, first.Digest)
	}
}

func TestParameters(t *testing.T) {
	for _, f := range capture.Formats() {
		t.Run(f, func(t *testing.T) {
			p := capture.Parameters(f)
			if len(p) == 0 {
				t.Fatal("no parameters")
			}
			p[0] = "changed"
			if capture.Parameters(f)[0] == "changed" {
				t.Error("Parameters returns the shared list")
			}
		})
	}
	if p := capture.Parameters("unknown"); p != nil {
		t.Errorf("Parameters(unknown) = %q", p)
	}
}

// ExampleImport imports a Chat Completions request and rebuilds it from
// the composition.
func ExampleImport() {
	body := []byte(`{
	  "model": "gpt-4o-mini-2024-07-18",
	  "messages": [
	    {"role": "system", "content": "Answer in one word."},
	    {"role": "user", "content": "What is the capital of Australia?"}
	  ],
	  "temperature": 0,
	  "stream": true
	}`)
	imp, err := capture.Import(context.Background(), capture.FormatOpenAIChat, body, capture.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range imp.Composition.Components {
		fmt.Println(c.Role, c.Name)
	}
	fmt.Println(imp.Composition.Digest())
	rebuilt, err := capture.Rebuild(context.Background(), imp.Composition, capture.RebuildOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(rebuilt))
	// Output:
	// model model.json
	// parameters parameters.json
	// system-prompt system-prompt/system.md
	// input input/messages.json
	// config config/request.json
	// runtime runtime.json
	// sha256:c5873d43179c908dac202a2d0c2c5ea9b11564e6323350057586e9f43d8803ac
	// {"messages":[{"content":"Answer in one word.","role":"system"},{"content":"What is the capital of Australia?","role":"user"}],"model":"gpt-4o-mini-2024-07-18","stream":true,"temperature":0}
}
