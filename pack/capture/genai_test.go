package capture_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/runid/runid-oci/pack/capture"
)

func ptr[T any](v T) *T { return &v }

func TestDescribeResponse(t *testing.T) {
	cases := []struct {
		file   string
		format string
		want   capture.GenAIResponse
	}{
		{"openai-chat.json", capture.FormatOpenAIChat, capture.GenAIResponse{ID: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", Model: "gpt-4o-2024-08-06", FinishReasons: []string{"stop"}, InputTokens: ptr[int64](1117), OutputTokens: ptr[int64](46), CachedInputTokens: ptr[int64](1024)}},
		{"openai-chat.sse", capture.FormatOpenAIChat, capture.GenAIResponse{ID: "chatcmpl-123", Model: "gpt-4o-mini-2024-07-18", FinishReasons: []string{"length"}, InputTokens: ptr[int64](19), OutputTokens: ptr[int64](10), CachedInputTokens: ptr[int64](0)}},
		{"openai-responses.json", capture.FormatOpenAIResponses, capture.GenAIResponse{ID: "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b", Model: "gpt-4.1-2025-04-14", FinishReasons: []string{"completed"}, InputTokens: ptr[int64](36), OutputTokens: ptr[int64](87), CachedInputTokens: ptr[int64](0)}},
		{"openai-responses.sse", capture.FormatOpenAIResponses, capture.GenAIResponse{ID: "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654", Model: "gpt-4.1-2025-04-14", FinishReasons: []string{"max_output_tokens"}, InputTokens: ptr[int64](37), OutputTokens: ptr[int64](11), CachedInputTokens: ptr[int64](32)}},
		{"anthropic-messages.json", capture.FormatAnthropicMessages, capture.GenAIResponse{ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-sonnet-4-20250514", FinishReasons: []string{"end_turn"}, InputTokens: ptr[int64](3595), OutputTokens: ptr[int64](503), CachedInputTokens: ptr[int64](1500)}},
		{"anthropic-messages.sse", capture.FormatAnthropicMessages, capture.GenAIResponse{ID: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", Model: "claude-opus-4-20250514", FinishReasons: []string{"max_tokens"}, InputTokens: ptr[int64](25), OutputTokens: ptr[int64](15), CachedInputTokens: ptr[int64](0)}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("../../testdata/responses", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got := capture.DescribeResponse(tc.format, f, filepath.Ext(tc.file) == ".sse")
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DescribeResponse =\n%s\nwant\n%s", show(got), show(tc.want))
			}
		})
	}
}

func show(d capture.GenAIResponse) string {
	n := func(p *int64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return fmt.Sprintf("id %q model %q finish %q in %v out %v cached %v", d.ID, d.Model, d.FinishReasons, n(d.InputTokens), n(d.OutputTokens), n(d.CachedInputTokens))
}

func TestDescribeRequest(t *testing.T) {
	cases := []struct {
		file, format string
	}{
		{"openai-chat.json", capture.FormatOpenAIChat},
		{"openai-responses.json", capture.FormatOpenAIResponses},
		{"anthropic-messages-sampling.json", capture.FormatAnthropicMessages},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(requestsDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			d, err := capture.DescribeRequest(tc.format, body, "")
			if err != nil {
				t.Fatal(err)
			}
			if d.Operation != "chat" || d.Model == "" || d.Provider == "" {
				t.Errorf("DescribeRequest = %+v, want operation chat, a model and a provider", d)
			}
		})
	}
	if _, err := capture.DescribeRequest("nope", []byte(`{}`), ""); err == nil {
		t.Error("DescribeRequest accepted an unknown format")
	}
	d, err := capture.DescribeRequest(capture.FormatOpenAIChat, []byte(`{"model":"m","temperature":0.2,"top_p":0.9,"max_completion_tokens":64,"max_tokens":32,"seed":7,"n":2,"stop":"END","frequency_penalty":0.5,"presence_penalty":-0.5,"stream":true}`), "azure")
	if err != nil {
		t.Fatal(err)
	}
	want := capture.GenAIRequest{Operation: "chat", Provider: "azure", Model: "m", Temperature: ptr(0.2), TopP: ptr(0.9), MaxTokens: ptr[int64](64), Seed: ptr[int64](7), ChoiceCount: ptr[int64](2), StopSequences: []string{"END"}, FrequencyPenalty: ptr(0.5), PresencePenalty: ptr(-0.5), Stream: true}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("DescribeRequest = %+v, want %+v", d, want)
	}
	d, err = capture.DescribeRequest(capture.FormatAnthropicMessages, []byte(`{"model":"c","max_tokens":100,"top_k":40,"stop_sequences":["a","b"]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	want = capture.GenAIRequest{Operation: "chat", Provider: "anthropic", Model: "c", MaxTokens: ptr[int64](100), TopK: ptr(40.0), StopSequences: []string{"a", "b"}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("DescribeRequest = %+v, want %+v", d, want)
	}
}
