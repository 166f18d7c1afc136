package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// GenAIRequest is what the OpenTelemetry GenAI semantic conventions record
// of a request: its operation, provider, model and sampling parameters.
// It never holds content (prompts, messages, tools). Absent parameters are
// nil.
type GenAIRequest struct {
	// Operation is gen_ai.operation.name: "chat" for the three formats.
	Operation string
	// Provider is gen_ai.provider.name: "openai" or "anthropic", or
	// Options.Provider.
	Provider string
	// Model is gen_ai.request.model.
	Model            string
	Temperature      *float64
	TopP             *float64
	TopK             *float64
	FrequencyPenalty *float64
	PresencePenalty  *float64
	MaxTokens        *int64
	Seed             *int64
	ChoiceCount      *int64
	StopSequences    []string
	// Stream is true when the request asks for a server-sent event stream.
	Stream bool
}

// requestFields are the request members DescribeRequest reads, across the
// three formats.
type requestFields struct {
	Model               string          `json:"model"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *float64        `json:"top_k"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	MaxOutputTokens     *int64          `json:"max_output_tokens"`
	Seed                *int64          `json:"seed"`
	N                   *int64          `json:"n"`
	Stop                json.RawMessage `json:"stop"`
	StopSequences       []string        `json:"stop_sequences"`
	Stream              bool            `json:"stream"`
}

// DescribeRequest maps a request body of a format to the GenAI request
// attributes. provider overrides the format's provider when not empty.
func DescribeRequest(format string, body []byte, provider string) (GenAIRequest, error) {
	if _, ok := formats[format]; !ok {
		return GenAIRequest{}, fmt.Errorf("%w: %q", ErrUnknownFormat, format)
	}
	var f requestFields
	if err := json.Unmarshal(body, &f); err != nil {
		return GenAIRequest{}, fmt.Errorf("not a %s request: %w", format, err)
	}
	d := GenAIRequest{Operation: "chat", Provider: provider, Model: f.Model, Temperature: f.Temperature, TopP: f.TopP,
		FrequencyPenalty: f.FrequencyPenalty, PresencePenalty: f.PresencePenalty, Seed: f.Seed, Stream: f.Stream}
	if d.Provider == "" {
		d.Provider = "openai"
		if format == FormatAnthropicMessages {
			d.Provider = "anthropic"
		}
	}
	switch format {
	case FormatOpenAIChat:
		d.MaxTokens = f.MaxCompletionTokens
		if d.MaxTokens == nil {
			d.MaxTokens = f.MaxTokens
		}
		d.ChoiceCount = f.N
		var one string
		if json.Unmarshal(f.Stop, &one) == nil && one != "" {
			d.StopSequences = []string{one}
		} else {
			_ = json.Unmarshal(f.Stop, &d.StopSequences)
		}
	case FormatOpenAIResponses:
		d.MaxTokens = f.MaxOutputTokens
	case FormatAnthropicMessages:
		d.MaxTokens = f.MaxTokens
		d.TopK = f.TopK
		d.StopSequences = f.StopSequences
	}
	return d, nil
}

// GenAIResponse is what the GenAI semantic conventions record of a
// response: its ID, model, finish reasons and token usage. Absent counts
// are nil.
type GenAIResponse struct {
	ID            string
	Model         string
	FinishReasons []string
	// InputTokens counts all input tokens, cached ones included.
	InputTokens *int64
	// OutputTokens counts the generated tokens.
	OutputTokens *int64
	// CachedInputTokens is the part of InputTokens read from a cache.
	CachedInputTokens *int64
}

// usage holds the token counts of the three formats.
type usage struct {
	PromptTokens        *int64 `json:"prompt_tokens"`
	CompletionTokens    *int64 `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens *int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	InputTokens        *int64 `json:"input_tokens"`
	OutputTokens       *int64 `json:"output_tokens"`
	InputTokensDetails *struct {
		CachedTokens *int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
}

// responseObject is a response body, or the object an event carries, in
// any of the three formats.
type responseObject struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Model   string `json:"model"`
	Status  string `json:"status"`
	Choices []struct {
		Index        int     `json:"index"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	StopReason *string `json:"stop_reason"`
	Usage      *usage  `json:"usage"`
	// Response is the response object of OpenAI Responses events.
	Response *responseObject `json:"response"`
	// Message is the message of Anthropic's message_start event.
	Message *responseObject `json:"message"`
	// Delta is Anthropic's message_delta delta.
	Delta *struct {
		StopReason *string `json:"stop_reason"`
	} `json:"delta"`
}

// DescribeResponse reads a response body of a format (JSON, or a
// server-sent event stream when streamed) for the GenAI response
// attributes; in a stream they come from the events that carry them (the
// usage usually in the last one). What it cannot read is left empty.
func DescribeResponse(format string, body io.Reader, streamed bool) GenAIResponse {
	var d GenAIResponse
	if !streamed {
		var o responseObject
		if json.NewDecoder(io.LimitReader(body, maxDescribedJSON)).Decode(&o) == nil {
			d.merge(format, &o)
		}
		return d
	}
	r := bufio.NewReaderSize(body, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// An event too long to hold content facts is skipped.
			for err == bufio.ErrBufferFull {
				_, err = r.ReadSlice('\n')
			}
			continue
		}
		if data, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("data:")); ok {
			data = bytes.TrimSpace(data)
			if len(data) > 0 && data[0] == '{' && hasFacts(data) {
				var o responseObject
				if json.Unmarshal(data, &o) == nil {
					d.merge(format, &o)
				}
			}
		}
		if err != nil {
			return d
		}
	}
}

// maxDescribedJSON caps how much of a JSON response DescribeResponse reads.
const maxDescribedJSON = 64 << 20

// hasFacts is a cheap test that an event may carry response facts, so
// that content deltas are not decoded.
func hasFacts(data []byte) bool {
	for _, k := range [][]byte{[]byte(`"usage"`), []byte(`"finish_reason":"`), []byte(`"stop_reason"`), []byte(`"id"`), []byte(`"response"`)} {
		if bytes.Contains(data, k) {
			return true
		}
	}
	return false
}

// merge takes the facts of one response object or event.
func (d *GenAIResponse) merge(format string, o *responseObject) {
	if o.Response != nil {
		o = o.Response
	} else if o.Message != nil {
		msg := *o.Message
		if o.Usage == nil {
			o = &msg
		} else {
			d.merge(format, &msg)
		}
	}
	if d.ID == "" {
		d.ID = o.ID
	}
	if d.Model == "" {
		d.Model = o.Model
	}
	switch format {
	case FormatOpenAIChat:
		for _, c := range o.Choices {
			if c.FinishReason != nil && *c.FinishReason != "" {
				d.FinishReasons = append(d.FinishReasons, *c.FinishReason)
			}
		}
	case FormatOpenAIResponses:
		switch {
		case o.IncompleteDetails != nil && o.IncompleteDetails.Reason != "":
			d.FinishReasons = []string{o.IncompleteDetails.Reason}
		case o.Status == "completed" || o.Status == "failed" || o.Status == "cancelled" || o.Status == "incomplete":
			d.FinishReasons = []string{o.Status}
		}
	case FormatAnthropicMessages:
		if o.StopReason != nil && *o.StopReason != "" {
			d.FinishReasons = []string{*o.StopReason}
		}
		if o.Delta != nil && o.Delta.StopReason != nil && *o.Delta.StopReason != "" {
			d.FinishReasons = []string{*o.Delta.StopReason}
		}
	}
	if u := o.Usage; u != nil {
		d.mergeUsage(format, u)
	}
}

func (d *GenAIResponse) mergeUsage(format string, u *usage) {
	set := func(p **int64, v *int64) {
		if v != nil {
			n := *v
			*p = &n
		}
	}
	switch format {
	case FormatOpenAIChat:
		set(&d.InputTokens, u.PromptTokens)
		set(&d.OutputTokens, u.CompletionTokens)
		if u.PromptTokensDetails != nil {
			set(&d.CachedInputTokens, u.PromptTokensDetails.CachedTokens)
		}
	case FormatOpenAIResponses:
		set(&d.InputTokens, u.InputTokens)
		set(&d.OutputTokens, u.OutputTokens)
		if u.InputTokensDetails != nil {
			set(&d.CachedInputTokens, u.InputTokensDetails.CachedTokens)
		}
	case FormatAnthropicMessages:
		// Anthropic counts cache reads and writes apart from input_tokens;
		// the GenAI input count includes them.
		if u.InputTokens != nil || u.CacheReadInputTokens != nil || u.CacheCreationInputTokens != nil {
			var in int64
			for _, v := range []*int64{u.InputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens} {
				if v != nil {
					in += *v
				}
			}
			if in > 0 || d.InputTokens == nil {
				d.InputTokens = &in
			}
		}
		set(&d.CachedInputTokens, u.CacheReadInputTokens)
		set(&d.OutputTokens, u.OutputTokens)
	}
}

// Usage returns the token counts as the output record's usage fact
// (spec/SPEC.md §8.1), or nil when the response reported none.
func (d GenAIResponse) Usage() map[string]any {
	m := map[string]any{}
	for k, v := range map[string]*int64{"inputTokens": d.InputTokens, "outputTokens": d.OutputTokens, "cachedInputTokens": d.CachedInputTokens} {
		if v != nil {
			m[k] = *v
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
