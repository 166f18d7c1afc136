package capture

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
)

// Names of the system-prompt and input components.
const (
	systemDir        = "system-prompt/"
	instructionsStem = "instructions"
	systemStem       = "system"
	messagesName     = "input/messages.json"
	inputJSONName    = "input/input.json"
	inputTextName    = "input/input.txt"
)

// splitChat: the leading system and developer messages are the system
// prompt, the other messages the input.
func splitChat(req fields, run *pack.Run) {
	v, ok := take(req, "messages")
	if !ok {
		run.None(mediatype.RoleSystemPrompt, mediatype.RoleInput)
		return
	}
	msgs, isArray := asArray(v)
	if !isArray {
		run.None(mediatype.RoleSystemPrompt)
		run.Add(mediatype.RoleInput, pack.JSON(messagesName, v))
		return
	}
	n := leadingSystem(msgs, false)
	if n == 0 {
		run.None(mediatype.RoleSystemPrompt)
	} else {
		run.Add(mediatype.RoleSystemPrompt, systemParts(msgs[:n])...)
	}
	if n == 0 || len(msgs) > n {
		run.Add(mediatype.RoleInput, pack.JSON(messagesName, joinArray(msgs[n:])))
	} else {
		run.None(mediatype.RoleInput)
	}
}

func joinChat(sys, input []part, out fields) error {
	msgs, err := systemMessages(sys)
	if err != nil {
		return err
	}
	return joinMessages(out, "messages", msgs, input, messagesName, "")
}

// splitResponses: instructions and the leading system and developer items
// of input are the system prompt, the other items (or the input string)
// the input.
func splitResponses(req fields, run *pack.Run) {
	var sys []pack.Part
	if v, ok := take(req, "instructions"); ok {
		if s, isString := asString(v); isString {
			sys = append(sys, pack.Text(systemDir+instructionsStem+".md", s))
		} else {
			sys = append(sys, pack.JSON(systemDir+instructionsStem+".json", v))
		}
	}
	v, hasInput := take(req, "input")
	items, isArray := asArray(v)
	n := 0
	if isArray {
		n = leadingSystem(items, true)
		sys = append(sys, systemParts(items[:n])...)
	}
	if len(sys) == 0 {
		run.None(mediatype.RoleSystemPrompt)
	} else {
		run.Add(mediatype.RoleSystemPrompt, sys...)
	}
	s, isString := asString(v)
	switch {
	case !hasInput || (isArray && n > 0 && len(items) == n):
		run.None(mediatype.RoleInput)
	case isString:
		run.Add(mediatype.RoleInput, pack.Text(inputTextName, s))
	case isArray:
		run.Add(mediatype.RoleInput, pack.JSON(inputJSONName, joinArray(items[n:])))
	default:
		run.Add(mediatype.RoleInput, pack.JSON(inputJSONName, v))
	}
}

func joinResponses(sys, input []part, out fields) error {
	var msgs []part
	for _, p := range sys {
		if p.stem() != instructionsStem {
			msgs = append(msgs, p)
			continue
		}
		v, err := p.value()
		if err != nil {
			return err
		}
		if err := set(out, "instructions", v); err != nil {
			return err
		}
	}
	items, err := systemMessages(msgs)
	if err != nil {
		return err
	}
	return joinMessages(out, "input", items, input, inputJSONName, inputTextName)
}

// splitAnthropic: system is the system prompt, messages the input.
func splitAnthropic(req fields, run *pack.Run) {
	v, ok := take(req, "system")
	s, isString := asString(v)
	switch {
	case !ok:
		run.None(mediatype.RoleSystemPrompt)
	case isString:
		run.Add(mediatype.RoleSystemPrompt, pack.Text(systemDir+systemStem+".md", s))
	default:
		run.Add(mediatype.RoleSystemPrompt, pack.JSON(systemDir+systemStem+".json", v))
	}
	if v, ok := take(req, "messages"); ok {
		run.Add(mediatype.RoleInput, pack.JSON(messagesName, v))
	} else {
		run.None(mediatype.RoleInput)
	}
}

func joinAnthropic(sys, input []part, out fields) error {
	for _, p := range sys {
		if p.name != systemDir+systemStem+".md" && p.name != systemDir+systemStem+".json" {
			return fmt.Errorf("%w: system-prompt component %q; an anthropic-messages request has one system prompt, %s.md or %s.json",
				ErrNotImported, p.name, systemStem, systemStem)
		}
		v, err := p.value()
		if err != nil {
			return err
		}
		if err := set(out, "system", v); err != nil {
			return err
		}
	}
	return joinMessages(out, "messages", nil, input, messagesName, "")
}

// joinMessages sets field to the system messages followed by the input: a
// json component jsonName (an array when there are system messages), or,
// when textName is not empty, a text component textName (a string).
func joinMessages(out fields, field string, sys []json.RawMessage, input []part, jsonName, textName string) error {
	if len(input) > 1 {
		return fmt.Errorf("%w: %d input components; an imported request has one", ErrNotImported, len(input))
	}
	if len(input) == 0 {
		if len(sys) == 0 {
			return nil
		}
		return set(out, field, joinArray(sys))
	}
	p := input[0]
	switch {
	case p.name == jsonName && p.format == mediatype.FormatJSON:
	case textName != "" && p.name == textName && p.format == mediatype.FormatText:
	default:
		return fmt.Errorf("%w: input component %q (%s); this format's input is %s", ErrNotImported, p.name, p.format, jsonName)
	}
	v, err := p.value()
	if err != nil {
		return err
	}
	if len(sys) == 0 {
		return set(out, field, v)
	}
	all, ok := prependArray(sys, v)
	if !ok {
		return fmt.Errorf("%w: input component %q is not an array, so system messages cannot go before it", ErrNotImported, p.name)
	}
	return set(out, field, all)
}

// prependArray puts elems before the elements of arr, a JSON array (as
// json components are: canonical, so valid), without decoding arr; ok is
// false when arr is not an array.
func prependArray(elems []json.RawMessage, arr json.RawMessage) (out json.RawMessage, ok bool) {
	t := bytes.TrimSpace(arr)
	if len(t) < 2 || t[0] != '[' || t[len(t)-1] != ']' {
		return nil, false
	}
	out = joinArray(elems)
	rest := bytes.TrimSpace(t[1 : len(t)-1])
	if len(rest) == 0 {
		return out, true
	}
	out = append(out[:len(out)-1], ',')
	out = append(out, rest...)
	return append(out, ']'), true
}

// leadingSystem counts the messages at the start that are system or
// developer message objects; for Responses items, an item with a type must
// be a message.
func leadingSystem(msgs []json.RawMessage, items bool) int {
	for i, m := range msgs {
		obj, isObject := asObject(m)
		if !isObject {
			return i
		}
		role, _ := asString(obj["role"])
		if role != "system" && role != "developer" {
			return i
		}
		if typ, ok := obj["type"]; items && ok {
			if s, _ := asString(typ); s != "message" {
				return i
			}
		}
	}
	return len(msgs)
}

// systemParts makes one component per system message: text when the
// message is exactly {role, content} with string content, else json.
func systemParts(msgs []json.RawMessage) []pack.Part {
	parts := make([]pack.Part, len(msgs))
	for i, m := range msgs {
		obj, _ := asObject(m)
		stem, _ := asString(obj["role"])
		if len(msgs) > 1 {
			stem = fmt.Sprintf("%d-%s", i+1, stem)
		}
		if s, isString := asString(obj["content"]); isString && len(obj) == 2 {
			parts[i] = pack.Text(systemDir+stem+".md", s)
		} else {
			parts[i] = pack.JSON(systemDir+stem+".json", m)
		}
	}
	return parts
}

// systemMessages rebuilds the messages of systemParts.
func systemMessages(parts []part) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for _, p := range parts {
		role := p.stem()
		if i := strings.IndexByte(role, '-'); i > 0 && strings.Trim(role[:i], "0123456789") == "" {
			role = role[i+1:]
		}
		if role != "system" && role != "developer" {
			return nil, fmt.Errorf("%w: system-prompt component %q is not a system or developer message", ErrNotImported, p.name)
		}
		switch p.format {
		case mediatype.FormatText:
			out = append(out, mustJSON(map[string]string{"role": role, "content": string(p.data)}))
		case mediatype.FormatJSON:
			out = append(out, p.data)
		default:
			return nil, fmt.Errorf("%w: system-prompt component %q has format %s", ErrNotImported, p.name, p.format)
		}
	}
	return out, nil
}

// part is one component read back from a composition.
type part struct {
	role, name, format string
	data               []byte
}

// stem is the base name without its extension.
func (p part) stem() string {
	base := path.Base(p.name)
	return strings.TrimSuffix(base, path.Ext(base))
}

// value is the component as a JSON value: json as is, text as a string.
func (p part) value() (json.RawMessage, error) {
	switch p.format {
	case mediatype.FormatJSON:
		return p.data, nil
	case mediatype.FormatText:
		return mustJSON(string(p.data)), nil
	}
	return nil, fmt.Errorf("%w: component %q has format %s; imported components are json or text", ErrNotImported, p.name, p.format)
}

// set sets out[k], which no other component may have set.
func set(out fields, k string, v json.RawMessage) error {
	if _, dup := out[k]; dup {
		return fmt.Errorf("%w: the request field %q comes from two components", ErrNotImported, k)
	}
	out[k] = v
	return nil
}

// joinArray writes a JSON array of elements as they are: canonical when
// they are.
func joinArray(elems []json.RawMessage) json.RawMessage {
	n := 2
	for _, e := range elems {
		n += len(e) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, e := range elems {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, e...)
	}
	return append(out, ']')
}

// asArray decodes a JSON array, keeping its elements as written.
func asArray(v json.RawMessage) ([]json.RawMessage, bool) {
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '[' {
		return nil, false
	}
	if out, ok := splitArray(v); ok {
		return out, true
	}
	out := []json.RawMessage{}
	if json.Unmarshal(v, &out) != nil {
		return nil, false
	}
	return out, true
}

// asObject decodes a JSON object, keeping its members as written.
func asObject(v json.RawMessage) (fields, bool) {
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '{' {
		return nil, false
	}
	if out, ok := splitObject(v); ok {
		return out, true
	}
	var out fields
	if json.Unmarshal(v, &out) != nil {
		return nil, false
	}
	return out, true
}

// asString decodes a JSON string.
func asString(v json.RawMessage) (string, bool) {
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}
