package spec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/spec"
)

// The rules of execution facts that the schema also states are reported
// by the check execution alone; a leap second is an RFC 3339 time.
func TestExecutionFactsRules(t *testing.T) {
	id := digest.FromString("identity").String()
	doc := func(exec string) []byte {
		return []byte(`{"execution":` + exec + `,"identity":"` + id + `","specVersion":"1.0"}`)
	}
	for _, exec := range []string{
		`{"startedAt":"2016-12-31T23:59:60Z","endedAt":"2017-01-01T00:00:00Z"}`,
		`{"startedAt":"2016-12-31T23:59:59.5Z","endedAt":"2016-12-31T23:59:60Z"}`,
		`{"servedModel":"` + strings.Repeat("m", 1024) + `"}`,
	} {
		if _, _, err := spec.ParseOutputDocument(doc(exec)); err != nil {
			t.Errorf("%s: %v", exec, err)
		}
	}
	for _, exec := range []string{
		`{"exitCode":"0"}`,
		`{"status":1}`,
		`{"startedAt":12}`,
		`{"servedModel":"` + strings.Repeat("m", 1025) + `"}`,
		`{"instanceId":"` + strings.Repeat("i", 257) + `"}`,
		`{"startedAt":"2017-01-01T00:00:01Z","endedAt":"2016-12-31T23:59:60Z"}`,
	} {
		_, _, err := spec.ParseOutputDocument(doc(exec))
		var re *spec.RecordError
		if !errors.As(err, &re) || len(re.Problems) != 1 || re.Problems[0].Check != "execution" {
			t.Errorf("%s: got %v, want the one check execution", exec, err)
		}
	}
	// A duplicated member is document-json, whichever copy a parser keeps.
	_, _, err := spec.ParseOutputDocument([]byte(`{"identity":"` + id + `","identity":"` + id + `","specVersion":"1.0"}`))
	var re *spec.RecordError
	if !errors.As(err, &re) || re.Problems[0].Check != "document-json" {
		t.Errorf("duplicate member: got %v", err)
	}
	// Invalid UTF-8 in a fact is refused, not read as U+FFFD.
	_, _, err = spec.ParseOutputDocument(doc(`{"note":"a` + "\xff" + `"}`))
	if !errors.As(err, &re) || re.Problems[0].Check != "document-json" || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid UTF-8: got %v", err)
	}
}

// A fact given with invalid UTF-8 (a command-line value, say) is refused
// when the record is built, not written as U+FFFD.
func TestBuildRecordInvalidUTF8Fact(t *testing.T) {
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("identity"), Size: 100}
	for _, facts := range []map[string]any{
		{"note": "a\xffb"},
		{"x\xfe": "ok"},
		{"nested": map[string]any{"k": []any{"ok", "\xff"}}},
	} {
		_, err := spec.BuildOutputRecord(subject, spec.OutputDocument{Execution: facts}, nil, nil)
		var re *spec.RecordError
		if !errors.As(err, &re) || re.Problems[0].Check != "execution" || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%q: got %v, want execution refused for invalid UTF-8", facts, err)
		}
	}
}
