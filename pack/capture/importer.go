// Package capture converts the body of a model API request into the
// composition of a run, and a composition it made back into the request.
//
// Most AI runs are one HTTP request to an OpenAI- or Anthropic-compatible
// endpoint, and that request is the run's composition. Import takes the
// request body (bytes in memory; nothing is read or written) and returns a
// pack.Run with every core role accounted for, and its composition, whose
// digest is the run's identity. It is pure format conversion, used by
// `runid-oci import` (through ImportDir) and by the capturing proxy.
//
// # Formats
//
//	openai-chat         OpenAI Chat Completions   POST /v1/chat/completions
//	openai-responses    OpenAI Responses          POST /v1/responses
//	anthropic-messages  Anthropic Messages        POST /v1/messages
//
// # Mapping (MappingVersion "1")
//
//   - model: one component model.json, {"provider", "name"}: the provider
//     given in Options.Provider (default "openai" or "anthropic", from the
//     format) and the request's model field as sent. A request without a
//     model field gives {"provider"} only.
//   - parameters: one component parameters.json holding the sampling and
//     decoding fields present in the request, as sent (Parameters lists
//     them for each format); none if the request has none of them.
//   - system-prompt: openai-chat: the leading system and developer
//     messages; openai-responses: instructions, then the leading system and
//     developer items of input; anthropic-messages: system. A message that
//     is exactly {role, content} with string content is a text component
//     system-prompt/<role>.md holding the content; any other message is a
//     json component system-prompt/<role>.json holding the message object
//     (with several messages the names are numbered: 1-system.md,
//     2-developer.json). instructions and system are
//     system-prompt/instructions.md and system-prompt/system.md when they
//     are strings, .json otherwise (Anthropic's array of blocks). A system
//     message later in the conversation stays in input, in its place.
//     none if the request has no system instructions.
//   - tools: one json component per tool definition, tools/<name>.json, in
//     the order offered; <name> is the tool's name (or its type, for
//     built-in tools), with characters other than letters, digits, ".",
//     "_" and "-" replaced by "_", and "-2", "-3"... added to repeated
//     names ("_" goes before a name that is a Windows device name, such
//     as con). openai-chat's deprecated functions are
//     tools/functions/<name>.json. none if the request offers no tools; an
//     empty tools array is kept in config.
//   - context: none. A request has no separate retrieved material:
//     documents pasted into messages are part of input.
//   - input: openai-chat and anthropic-messages: input/messages.json, the
//     messages after the leading system ones; openai-responses:
//     input/input.json (the items after the leading system ones) or, when
//     input is a string, input/input.txt. none if nothing is left.
//   - config: one component config/request.json holding every other field
//     of the request (stream, stream_options, metadata, user, store,
//     service_tier, previous_response_id, unknown fields...), so that
//     nothing in the request is dropped; none if there is no other field.
//   - runtime: one component runtime.json, {"importer": "runid-oci",
//     "mapping": MappingVersion, "format": <format>}. It holds no time, host
//     or tool version, so the same request always has the same identity,
//     and it tells Rebuild how to rebuild the request.
//
// # Credentials
//
// A request body does not normally carry credentials (they travel in
// headers, which are not imported), but some clients put them in the body.
// Fields named like a credential (api_key, apikey, x-api-key,
// anthropic-api-key, openai-api-key, authorization, proxy-authorization,
// organization, openai-organization, organization_id, openai-project; in
// any letter case, with "-" or "_") are dropped at the top level and in the
// top-level objects metadata, headers, extra_headers, default_headers,
// extra_body and extra_query. Each drop is reported in Imported.Warnings
// by field name, never with its value, and a request rebuilt from the
// identity lacks those fields.
//
// # Rebuilding
//
// Rebuild reads the components of a composition that Import made (in
// memory, or loaded with pack.Load from the files that ImportDir wrote)
// and rebuilds the request body, equal as JSON to the one imported (minus
// dropped credentials). Import checks this on every request and fails
// with ErrRoundTrip if it does not hold. "Equal as JSON" is equality of
// the RFC 8785 canonical forms: member order and number spelling are not
// kept, and integers beyond 2^53 become the nearest double (a warning
// names them).
package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// Request formats.
const (
	// FormatOpenAIChat is an OpenAI Chat Completions request
	// (POST /v1/chat/completions).
	FormatOpenAIChat = "openai-chat"
	// FormatOpenAIResponses is an OpenAI Responses request (POST /v1/responses).
	FormatOpenAIResponses = "openai-responses"
	// FormatAnthropicMessages is an Anthropic Messages request (POST /v1/messages).
	FormatAnthropicMessages = "anthropic-messages"
)

// MappingVersion is the version of the mapping from request fields to
// components, recorded in the runtime component. It changes whenever a
// request would map to different components.
const MappingVersion = "1"

// ImporterName is the value of "importer" in the runtime component.
const ImporterName = "runid-oci"

// Names of the components that every format uses.
const (
	ModelName      = "model.json"
	ParametersName = "parameters.json"
	ConfigName     = "config/request.json"
	RuntimeName    = "runtime.json"
)

// Formats returns the request formats, in a fixed order.
func Formats() []string {
	return []string{FormatOpenAIChat, FormatOpenAIResponses, FormatAnthropicMessages}
}

// Parameters returns the top-level request fields that the format maps to
// the parameters role, in a fixed order; nil for an unknown format.
func Parameters(format string) []string {
	if f, ok := formats[format]; ok {
		return slices.Clone(f.params)
	}
	return nil
}

// Options configure Import. The zero value is valid.
type Options struct {
	// Provider is recorded as the model's provider. Default: "openai" for
	// openai-chat and openai-responses, "anthropic" for
	// anthropic-messages. Set it for a compatible endpoint of another
	// provider.
	Provider string
	// Build configures building the composition.
	Build pack.BuildOptions
}

// Imported is a request converted into a run.
type Imported struct {
	// Format is the request format.
	Format string
	// Run holds the components. A caller may add extension roles or
	// runtime parts to it and compose it again; that changes the identity.
	Run *pack.Run
	// Composition is Run composed with Options.Build; its digest is the
	// run's identity.
	Composition *pack.Composition
	// Warnings report what the caller should know: credentials dropped (by
	// field name only), numbers that lose precision, references to state
	// kept by the provider, which the identity cannot hold.
	Warnings []string
}

// fields is a JSON object whose members are kept as they were written.
type fields map[string]json.RawMessage

// format is the mapping of one request format.
type format struct {
	name     string
	provider string
	params   []string
	// tools are the fields holding tool definitions, with the folder of
	// their components.
	tools []toolField
	// serverState are fields that refer to state kept by the provider.
	serverState []string
	// split moves the system instructions and the input from req to run.
	split func(req fields, run *pack.Run)
	// join puts them back into a request.
	join func(sys, input []part, out fields) error
}

type toolField struct{ field, dir string }

var formats = map[string]format{
	FormatOpenAIChat: {
		name: FormatOpenAIChat, provider: "openai",
		params: []string{"temperature", "top_p", "n", "stop", "max_tokens", "max_completion_tokens",
			"presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "seed",
			"tool_choice", "parallel_tool_calls", "function_call", "response_format", "reasoning_effort",
			"verbosity", "modalities", "audio"},
		tools: []toolField{{"tools", "tools/"}, {"functions", "tools/functions/"}},
		split: splitChat, join: joinChat,
	},
	FormatOpenAIResponses: {
		name: FormatOpenAIResponses, provider: "openai",
		params: []string{"temperature", "top_p", "max_output_tokens", "max_tool_calls", "top_logprobs",
			"tool_choice", "parallel_tool_calls", "text", "reasoning"},
		tools:       []toolField{{"tools", "tools/"}},
		serverState: []string{"previous_response_id", "conversation", "prompt"},
		split:       splitResponses, join: joinResponses,
	},
	FormatAnthropicMessages: {
		name: FormatAnthropicMessages, provider: "anthropic",
		params: []string{"max_tokens", "temperature", "top_p", "top_k", "stop_sequences",
			"tool_choice", "thinking", "output_format"},
		tools:       []toolField{{"tools", "tools/"}},
		serverState: []string{"container"},
		split:       splitAnthropic, join: joinAnthropic,
	},
}

// Import converts a request body of the given format into a run, composes
// it, and checks that the composition rebuilds the request (ErrRoundTrip
// otherwise). body is only read. An unknown format fails with
// ErrUnknownFormat, a body that is not one JSON object with
// ErrInvalidRequest (also for a body that is not UTF-8); composing fails
// as pack.Run.Compose does.
func Import(ctx context.Context, format string, body []byte, opts Options) (*Imported, error) {
	f, ok := formats[format]
	if !ok {
		return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownFormat, format, strings.Join(Formats(), ", "))
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: not valid UTF-8 (RFC 8259 §8.1)", ErrInvalidRequest)
	}
	// The body is canonicalized once; every value taken from the canonical
	// form is canonical itself, so the components made of them are
	// canonical as made, and canonicalizing them again (pack.JSON, then
	// Compose) is a check that reads them once.
	canon, err := spec.Canonicalize(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	req, ok := asObject(canon)
	if !ok {
		return nil, fmt.Errorf("%w: a %s request body is a JSON object", ErrInvalidRequest, format)
	}
	imp := &Imported{Format: format, Run: &pack.Run{}}
	dropped := dropCredentials(req)
	imp.Warnings = append(imp.Warnings, dropped...)
	imp.Warnings = append(imp.Warnings, largeIntegers(body)...)
	for _, k := range f.serverState {
		if _, ok := req[k]; ok {
			imp.Warnings = append(imp.Warnings, fmt.Sprintf(
				"the request refers to state kept by the provider (%s): the field is recorded in config, what it refers to is not part of this identity", k))
		}
	}
	// The request the composition must rebuild: the body, canonical,
	// without the credentials dropped.
	want := canon
	if len(dropped) > 0 {
		if want, err = spec.MarshalCanonical(req); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
		}
	}
	f.toRun(req, opts, imp.Run)
	comp, err := imp.Run.Compose(ctx, opts.Build)
	if err != nil {
		return nil, err
	}
	imp.Composition = comp
	got, err := Rebuild(ctx, comp, RebuildOptions{MaxComponentSize: opts.Build.MaxStructuredSize})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRoundTrip, err)
	}
	if !bytes.Equal(got, want) {
		return nil, fmt.Errorf("%w: the %s request rebuilt from its components differs from the request", ErrRoundTrip, format)
	}
	return imp, nil
}

// toRun moves every field of req into a role of run.
func (f format) toRun(req fields, opts Options, run *pack.Run) {
	provider := opts.Provider
	if provider == "" {
		provider = f.provider
	}
	model := fields{"provider": mustJSON(provider)}
	if v, ok := take(req, "model"); ok {
		model["name"] = v
	}
	run.Add(mediatype.RoleModel, pack.JSON(ModelName, model))

	params := fields{}
	for _, k := range f.params {
		if v, ok := take(req, k); ok {
			params[k] = v
		}
	}
	if len(params) > 0 {
		run.Add(mediatype.RoleParameters, pack.JSON(ParametersName, params))
	} else {
		run.None(mediatype.RoleParameters)
	}

	var tools []pack.Part
	used := map[string]bool{}
	for _, tf := range f.tools {
		list, ok := asArray(req[tf.field])
		if !ok || len(list) == 0 {
			continue // absent, empty or not an array: stays in config
		}
		delete(req, tf.field)
		for i, t := range list {
			tools = append(tools, pack.JSON(toolName(tf.dir, t, i, used), t))
		}
	}
	if len(tools) > 0 {
		run.Add(mediatype.RoleTools, tools...)
	} else {
		run.None(mediatype.RoleTools)
	}

	f.split(req, run)
	run.None(mediatype.RoleContext)
	if len(req) > 0 {
		run.Add(mediatype.RoleConfig, pack.JSON(ConfigName, req))
	} else {
		run.None(mediatype.RoleConfig)
	}
	run.Add(mediatype.RoleRuntime, pack.JSON(RuntimeName, map[string]string{
		"importer": ImporterName, "mapping": MappingVersion, "format": f.name}))
}

// take removes k from req and returns its value.
func take(req fields, k string) (json.RawMessage, bool) {
	v, ok := req[k]
	delete(req, k)
	return v, ok
}

// mustJSON encodes values that always encode: strings, string maps and
// lists of raw JSON that was decoded before. It does not escape HTML
// characters (<, >, &), as RFC 8785 does not, so that what it encodes from
// canonical parts is usually canonical already.
func mustJSON(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("importer: encode %T: %v", v, err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// toolName names the component of the i-th tool of a field.
func toolName(dir string, tool json.RawMessage, i int, used map[string]bool) string {
	var t struct {
		Name     any `json:"name"`
		Type     any `json:"type"`
		Label    any `json:"server_label"`
		Function struct {
			Name any `json:"name"`
		} `json:"function"`
		Custom struct {
			Name any `json:"name"`
		} `json:"custom"`
	}
	_ = json.Unmarshal(tool, &t) // a tool that is not an object gets a numbered name
	name := ""
	for _, v := range []any{t.Function.Name, t.Custom.Name, t.Name, t.Label, t.Type} {
		if s, ok := v.(string); ok && s != "" {
			name = s
			break
		}
	}
	name = sanitize(name)
	if name == "" {
		name = "tool-" + strconv.Itoa(i+1)
	}
	if spec.ValidateName(dir+name+".json") != nil {
		name = "_" + name // a Windows device name, such as con or aux.x
	}
	base := dir + name
	out := base + ".json"
	for n := 2; used[spec.NameKey(out)]; n++ {
		out = base + "-" + strconv.Itoa(n) + ".json"
	}
	used[spec.NameKey(out)] = true
	return out
}

// maxToolName caps the part of a component name taken from a tool name.
const maxToolName = 100

// sanitize keeps letters, digits, ".", "_" and "-" of a tool name, and at
// most maxToolName bytes, so that it makes a valid logical name segment.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= maxToolName {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), ".")
}

// credentialFields are the normalized names of fields that are never
// recorded (lower case, "_" as "-").
var credentialFields = []string{"api-key", "apikey", "x-api-key", "anthropic-api-key", "openai-api-key",
	"authorization", "proxy-authorization", "organization", "openai-organization", "organization-id",
	"openai-project"}

// credentialContainers are the top-level objects searched for credentials.
var credentialContainers = []string{"metadata", "headers", "extra_headers", "default_headers", "extra_body", "extra_query"}

func isCredential(k string) bool {
	return slices.Contains(credentialFields, strings.ReplaceAll(strings.ToLower(k), "_", "-"))
}

// dropCredentials removes credential fields from req and returns a warning
// naming each (never its value).
func dropCredentials(req fields) []string {
	var dropped []string
	for k := range req {
		if isCredential(k) {
			delete(req, k)
			dropped = append(dropped, k)
		}
	}
	for _, c := range credentialContainers {
		obj, ok := asObject(req[c])
		if !ok {
			continue
		}
		n := len(dropped)
		for k := range obj {
			if isCredential(k) {
				delete(obj, k)
				dropped = append(dropped, c+"."+k)
			}
		}
		if len(dropped) > n {
			// Canonical, as every value of req is.
			canon, err := spec.MarshalCanonical(obj)
			if err != nil {
				panic(fmt.Sprintf("importer: encode %s: %v", c, err))
			}
			req[c] = canon
		}
	}
	slices.Sort(dropped)
	out := make([]string, len(dropped))
	for i, d := range dropped {
		out[i] = fmt.Sprintf("dropped %q: credentials are never recorded; a request rebuilt from this identity lacks it", d)
	}
	return out
}

// maxExact is 2^53: larger integers are not all representable as doubles.
var maxExact = new(big.Int).Lsh(big.NewInt(1), 53)

// maxNumberWarnings caps the warnings about large integers.
const maxNumberWarnings = 10

// largeIntegers warns about integers beyond 2^53 in body, by path.
func largeIntegers(body []byte) []string {
	if !hasDigitRun(body, 16) {
		return nil // every integer beyond 2^53 has at least 16 digits
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	var paths []string
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if path == "" && isCredential(k) {
					continue
				}
				walk(x[k], joinPath(path, k))
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s[%d]", path, i))
			}
		case json.Number:
			if n, ok := new(big.Int).SetString(string(x), 10); ok && n.CmpAbs(maxExact) > 0 {
				paths = append(paths, path)
			}
		}
	}
	walk(v, "")
	var out []string
	for i, p := range paths {
		if i == maxNumberWarnings {
			out = append(out, fmt.Sprintf("%d more integers beyond 2^53", len(paths)-maxNumberWarnings))
			break
		}
		out = append(out, fmt.Sprintf("the integer at %s is beyond 2^53: JSON components hold numbers as doubles (spec/SPEC.md §4.4), so the nearest double is recorded; send it as a string to keep it exact", p))
	}
	return out
}

// hasDigitRun reports whether b has n ASCII digits in a row.
func hasDigitRun(b []byte, n int) bool {
	run := 0
	for _, c := range b {
		if '0' <= c && c <= '9' {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
