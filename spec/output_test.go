package spec_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// outputSubject builds a real identity and returns its manifest descriptor.
func outputSubject(t testing.TB) ocispec.Descriptor {
	t.Helper()
	comps := []spec.ComponentEntry{{Role: mediatype.RoleModel, Name: "model.json",
		MediaType: mediatype.Component(mediatype.RoleModel, mediatype.FormatJSON),
		Digest:    digest.FromString(`{"id":"m"}`), Size: 10}}
	id, err := spec.BuildIdentity(mediatype.CoreRoles(), comps)
	if err != nil {
		t.Fatal(err)
	}
	return id.Descriptor()
}

func outputFile(name, content string) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediatype.Output, Digest: digest.FromString(content), Size: int64(len(content)),
		Annotations: map[string]string{mediatype.AnnotationTitle: name}}
}

// rebuild re-encodes a mutated manifest and document, fixing the config
// descriptor to match the document unless keepConfig.
func rebuild(t *testing.T, m ocispec.Manifest, doc any, keepConfig bool) ([]byte, []byte) {
	t.Helper()
	var docBytes []byte
	switch d := doc.(type) {
	case []byte:
		docBytes = d
	default:
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		docBytes = b
	}
	if !keepConfig {
		m.Config.Digest, m.Config.Size = digest.FromBytes(docBytes), int64(len(docBytes))
	}
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return mb, docBytes
}

func checks(err error) []string {
	var re *spec.RecordError
	if !errors.As(err, &re) {
		return nil
	}
	var out []string
	for _, p := range re.Problems {
		out = append(out, p.Check)
	}
	return out
}

func TestOutputRecordBuildAndParse(t *testing.T) {
	subj := outputSubject(t)
	facts := map[string]any{spec.FactInstanceID: "run-42", spec.FactStartedAt: "2025-03-01T10:00:00Z",
		spec.FactEndedAt: "2025-03-01T10:00:05.5Z", spec.FactStatus: spec.StatusSucceeded, spec.FactExitCode: 0,
		"com.example.tokens": 1234}
	ext := []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("image"), Size: 5,
		Annotations: map[string]string{mediatype.AnnotationTitle: "built image"}}}
	files := []ocispec.Descriptor{outputFile("answer.md", "42"), outputFile("logs/run.log", "ok")}
	rec, err := spec.BuildOutputRecord(subj, spec.OutputDocument{Execution: facts, External: ext}, files,
		map[string]string{mediatype.AnnotationCreated: "2025-03-01T10:00:06Z"})
	if err != nil {
		t.Fatal(err)
	}
	canon, err := spec.Canonicalize(rec.ManifestBytes)
	if err != nil || string(canon) != string(rec.ManifestBytes) {
		t.Fatalf("manifest is not canonical JSON: %v", err)
	}
	if rec.Manifest.Subject == nil || rec.Manifest.Subject.Digest != subj.Digest || rec.Manifest.Subject.ArtifactType != "" {
		t.Fatalf("subject %+v, want media type, digest and size of %s only", rec.Manifest.Subject, subj.Digest)
	}
	got, err := spec.ParseOutputRecord(rec.ManifestBytes, rec.DocumentBytes)
	if err != nil {
		t.Fatal(err)
	}
	if got.Document.Identity != subj.Digest || got.Document.SpecVersion != mediatype.SpecVersion {
		t.Errorf("document identity %s version %s", got.Document.Identity, got.Document.SpecVersion)
	}
	if n, _ := got.Document.Execution[spec.FactExitCode].(json.Number); n != "0" {
		t.Errorf("exitCode decoded as %#v, want json.Number 0", got.Document.Execution[spec.FactExitCode])
	}
	if len(got.Files()) != 2 || got.Files()[1].Annotations[mediatype.AnnotationTitle] != "logs/run.log" {
		t.Errorf("files %+v", got.Files())
	}
	if d := got.Descriptor(); d.ArtifactType != mediatype.OutputRecord || d.Digest != rec.Digest() || d.Annotations[mediatype.AnnotationCreated] == "" {
		t.Errorf("descriptor %+v", d)
	}
	again, err := spec.BuildOutputRecord(subj, got.Document, got.Files(), got.Manifest.Annotations)
	if err != nil || again.Digest() != rec.Digest() {
		t.Errorf("rebuilding from the parsed record gives %v (%v), want %s", again, err, rec.Digest())
	}

	empty, err := spec.BuildOutputRecord(subj, spec.OutputDocument{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := empty.Manifest.Layers; len(l) != 1 || l[0].MediaType != ocispec.MediaTypeEmptyJSON || l[0].Data != nil {
		t.Errorf("record without files has layers %+v, want the single empty layer without data", l)
	}
	if empty.Files() != nil {
		t.Errorf("Files() of a record without files = %v", empty.Files())
	}
}

func TestParseOutputRecordRejects(t *testing.T) {
	subj := outputSubject(t)
	good, err := spec.BuildOutputRecord(subj, spec.OutputDocument{}, []ocispec.Descriptor{outputFile("a.txt", "a"), outputFile("b.txt", "b")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{"specVersion": "1.0", "identity": subj.Digest.String()}
	cases := []struct {
		name   string
		mutate func(m *ocispec.Manifest, doc map[string]any)
		raw    func() ([]byte, []byte) // overrides mutate
		want   string
	}{
		{name: "not json", raw: func() ([]byte, []byte) { return []byte("{"), good.DocumentBytes }, want: "manifest-json"},
		{name: "identity artifactType", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.ArtifactType = mediatype.Identity }, want: "artifact-type"},
		{name: "index media type", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.MediaType = ocispec.MediaTypeImageIndex }, want: "manifest-media-type"},
		{name: "schema version", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.SchemaVersion = 1 }, want: "manifest-schema-version"},
		{name: "config media type", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.Config.MediaType = mediatype.IdentityDocument }, want: "config-media-type"},
		{name: "config bytes", raw: func() ([]byte, []byte) {
			return good.ManifestBytes, []byte(`{"specVersion":"1.0","identity":"` + subj.Digest.String() + `"} `)
		}, want: "config-digest"},
		{name: "no subject", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.Subject = nil }, want: "subject"},
		{name: "subject is a blob", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.Subject.MediaType = mediatype.Output }, want: "subject"},
		{name: "subject zero size", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.Subject.Size = 0 }, want: "subject"},
		{name: "document names another identity", mutate: func(_ *ocispec.Manifest, d map[string]any) {
			d["identity"] = digest.FromString("other").String()
		}, want: "subject-identity"},
		{name: "untitled layer", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.Layers[0].Annotations = nil }, want: "layer-title"},
		{name: "escaping title", mutate: func(m *ocispec.Manifest, _ map[string]any) {
			m.Layers[0].Annotations = map[string]string{mediatype.AnnotationTitle: "../etc/passwd"}
		}, want: "layer-title"},
		{name: "duplicate title by case", mutate: func(m *ocispec.Manifest, _ map[string]any) {
			m.Layers[1].Annotations = map[string]string{mediatype.AnnotationTitle: "A.TXT"}
		}, want: "layer-title"},
		{name: "no layers", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.Layers = nil }, want: "layers"},
		{name: "fake empty layer", mutate: func(m *ocispec.Manifest, _ map[string]any) {
			m.Layers = []ocispec.Descriptor{{MediaType: ocispec.MediaTypeEmptyJSON, Digest: digest.FromString("x"), Size: 1}}
		}, want: "layer-empty"},
		{name: "layer without media type", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.Layers[0].MediaType = "" }, want: "layer-media-type"},
		{name: "negative layer size", mutate: func(m *ocispec.Manifest, _ map[string]any) { m.Layers[0].Size = -1 }, want: "layer-size"},
		{name: "empty config as oras attach makes it", raw: func() ([]byte, []byte) {
			var m ocispec.Manifest
			if err := json.Unmarshal(good.ManifestBytes, &m); err != nil {
				t.Fatal(err)
			}
			m.Config.MediaType = ocispec.MediaTypeEmptyJSON
			return rebuild(t, m, []byte("{}"), false)
		}, want: "config-media-type"},
		{name: "document schema", mutate: func(_ *ocispec.Manifest, d map[string]any) { d["extra"] = true }, want: "document-schema"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mb, db []byte
			if tc.raw != nil {
				mb, db = tc.raw()
			} else {
				var m ocispec.Manifest
				if err := json.Unmarshal(good.ManifestBytes, &m); err != nil {
					t.Fatal(err)
				}
				d := map[string]any{}
				for k, v := range doc {
					d[k] = v
				}
				tc.mutate(&m, d)
				mb, db = rebuild(t, m, d, false)
			}
			_, err := spec.ParseOutputRecord(mb, db)
			if !errors.Is(err, spec.ErrInvalidOutput) {
				t.Fatalf("error %v, want one wrapping ErrInvalidOutput", err)
			}
			if got := checks(err); !contains(got, tc.want) {
				t.Errorf("checks %v, want %s (error: %v)", got, tc.want, err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestParseOutputDocument(t *testing.T) {
	id := outputSubject(t).Digest.String()
	cases := []struct {
		name     string
		doc      string
		wantErr  error
		wantWarn int
		detail   string
	}{
		{name: "minimal", doc: `{"specVersion":"1.0","identity":"` + id + `"}`},
		{name: "all facts and free members", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"instanceId":"i-1","startedAt":"2025-01-01T00:00:00+01:00","endedAt":"2024-12-31T23:00:00Z","status":"failed","exitCode":-2,"servedModel":"gpt-x-2025","com.example.cost":{"usd":0.5}}}`},
		{name: "newer minor version", doc: `{"specVersion":"1.3","identity":"` + id + `","signedBy":"x"}`, wantWarn: 1},
		{name: "1.0 is strict", doc: `{"specVersion":"1.0","identity":"` + id + `","signedBy":"x"}`, wantErr: spec.ErrInvalidOutput, detail: "signedBy"},
		{name: "major version 2", doc: `{"specVersion":"2.0","identity":"` + id + `"}`, wantErr: spec.ErrUnsupportedVersion},
		{name: "no version", doc: `{"identity":"` + id + `"}`, wantErr: spec.ErrUnsupportedVersion},
		{name: "not an object", doc: `[1]`, wantErr: spec.ErrInvalidOutput},
		{name: "missing identity", doc: `{"specVersion":"1.0"}`, wantErr: spec.ErrInvalidOutput, detail: "identity"},
		{name: "sha512 identity", doc: `{"specVersion":"1.0","identity":"sha512:` + strings.Repeat("a", 128) + `"}`, wantErr: spec.ErrInvalidOutput},
		{name: "status not in the list", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"status":"ok"}}`, wantErr: spec.ErrInvalidOutput, detail: "status"},
		{name: "fractional exit code", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"exitCode":1.5}}`, wantErr: spec.ErrInvalidOutput, detail: "exitCode"},
		{name: "time without zone", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"startedAt":"2025-01-01T00:00:00"}}`, wantErr: spec.ErrInvalidOutput, detail: "startedAt"},
		{name: "ended before started", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"startedAt":"2025-01-01T00:00:01Z","endedAt":"2025-01-01T00:00:00Z"}}`, wantErr: spec.ErrInvalidOutput, detail: "before"},
		{name: "empty instance id", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"instanceId":""}}`, wantErr: spec.ErrInvalidOutput},
		{name: "empty fact name", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"":1}}`, wantErr: spec.ErrInvalidOutput},
		{name: "external without size", doc: `{"specVersion":"1.0","identity":"` + id + `","external":[{"mediaType":"a/b","digest":"` + id + `"}]}`, wantErr: spec.ErrInvalidOutput, detail: "size"},
		{name: "external bad digest", doc: `{"specVersion":"1.0","identity":"` + id + `","external":[{"mediaType":"a/b","digest":"md5:00","size":1}]}`, wantErr: spec.ErrInvalidOutput, detail: "external"},
		{name: "telemetry facts", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","usage":{"inputTokens":12,"outputTokens":3,"cachedInputTokens":0,"reasoningTokens":1},"finishReasons":["stop"]}}`},
		{name: "upper-case trace id", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736"}}`, wantErr: spec.ErrInvalidOutput, detail: "traceId"},
		{name: "zero trace id", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"traceId":"00000000000000000000000000000000"}}`, wantErr: spec.ErrInvalidOutput, detail: "traceId"},
		{name: "short span id", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"spanId":"00f067aa"}}`, wantErr: spec.ErrInvalidOutput, detail: "spanId"},
		{name: "zero span id", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"spanId":"0000000000000000"}}`, wantErr: spec.ErrInvalidOutput, detail: "spanId"},
		{name: "negative usage", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"usage":{"inputTokens":-1}}}`, wantErr: spec.ErrInvalidOutput, detail: "inputTokens"},
		{name: "usage not an object", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"usage":12}}`, wantErr: spec.ErrInvalidOutput, detail: "usage"},
		{name: "denied", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"status":"failed","denied":["temperature over 0.2"]}}`},
		{name: "denied but succeeded", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"status":"succeeded","denied":["temperature over 0.2"]}}`, wantErr: spec.ErrInvalidOutput, detail: "status"},
		{name: "denied without a reason", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"denied":[]}}`, wantErr: spec.ErrInvalidOutput, detail: "denied"},
		{name: "empty finish reason", doc: `{"specVersion":"1.0","identity":"` + id + `","execution":{"finishReasons":[""]}}`, wantErr: spec.ErrInvalidOutput, detail: "finishReasons"},
		{name: "external with urls", doc: `{"specVersion":"1.0","identity":"` + id + `","external":[{"mediaType":"text/csv","digest":"` + id + `","size":9,"urls":["https://example.com/r.csv"]}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, warns, err := spec.ParseOutputDocument([]byte(tc.doc))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if doc.Identity.String() != id {
					t.Errorf("identity %s", doc.Identity)
				}
			} else {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.detail) {
					t.Errorf("error %q does not mention %q", err, tc.detail)
				}
			}
			if len(warns) != tc.wantWarn {
				t.Errorf("warnings %v, want %d", warns, tc.wantWarn)
			}
		})
	}
}

func TestCheckExecutionGoValues(t *testing.T) {
	cases := []struct {
		facts map[string]any
		ok    bool
	}{
		{map[string]any{spec.FactExitCode: 3}, true},
		{map[string]any{spec.FactExitCode: int64(-1)}, true},
		{map[string]any{spec.FactExitCode: 2.0}, true},
		{map[string]any{spec.FactExitCode: "3"}, false},
		{map[string]any{spec.FactStartedAt: 17}, false},
		{map[string]any{spec.FactServedModel: 1}, false},
		{map[string]any{strings.Repeat("k", 129): 1}, false},
		{map[string]any{spec.FactTraceID: "4bf92f3577b34da6a3ce929d0e0e4736", spec.FactSpanID: "00f067aa0ba902b7"}, true},
		{map[string]any{spec.FactTraceID: "4bf92f3577b34da6a3ce929d0e0e473g"}, false},
		{map[string]any{spec.FactUsage: map[string]any{spec.UsageInputTokens: int64(5), spec.UsageOutputTokens: 2}}, true},
		{map[string]any{spec.FactUsage: map[string]any{spec.UsageOutputTokens: -2}}, false},
		{map[string]any{spec.FactUsage: map[string]any{spec.UsageOutputTokens: 2.5}}, false},
		{map[string]any{spec.FactFinishReasons: []string{"stop", "length"}}, true},
		{map[string]any{spec.FactFinishReasons: "stop"}, false},
		{map[string]any{spec.FactDenied: []string{"temperature over 0.2"}, spec.FactStatus: spec.StatusFailed}, true},
		{map[string]any{spec.FactDenied: []any{"temperature over 0.2"}}, true},
		{map[string]any{spec.FactDenied: []string{}}, false},
		{map[string]any{spec.FactDenied: []any{""}}, false},
		{map[string]any{spec.FactDenied: "temperature over 0.2"}, false},
		{map[string]any{spec.FactDenied: []string{"temperature over 0.2"}, spec.FactStatus: spec.StatusSucceeded}, false},
		{nil, true},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			err := spec.CheckExecution(tc.facts)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckExecution(%v) = %v, want ok=%v", tc.facts, err, tc.ok)
			}
			if err != nil && !errors.Is(err, spec.ErrInvalidOutput) {
				t.Errorf("error %v does not wrap ErrInvalidOutput", err)
			}
		})
	}
}

func TestLinkBuildAndParse(t *testing.T) {
	image := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromString("an image index"), Size: 321,
		Annotations: map[string]string{"x": "dropped"}}
	id := spec.LinkedIdentity{Digest: outputSubject(t).Digest, Repository: "registry.example:5000/team/runs"}
	l, err := spec.BuildLink(image, id)
	if err != nil {
		t.Fatal(err)
	}
	if l.Manifest.Subject.Digest != image.Digest || l.Manifest.Subject.Annotations != nil {
		t.Errorf("subject %+v", l.Manifest.Subject)
	}
	if l.Manifest.Annotations[mediatype.AnnotationIdentity] != id.Digest.String() ||
		l.Manifest.Annotations[mediatype.AnnotationIdentityRepository] != id.Repository {
		t.Errorf("annotations %v", l.Manifest.Annotations)
	}
	if _, ok := l.Manifest.Annotations[mediatype.AnnotationCreated]; ok {
		t.Error("a link carries a creation time; it must be deterministic")
	}
	again, err := spec.BuildLink(image, id)
	if err != nil || again.Digest() != l.Digest() {
		t.Errorf("linking twice gives %v (%v), want the same digest %s", again, err, l.Digest())
	}
	got, err := spec.ParseLink(l.ManifestBytes, l.DocumentBytes)
	if err != nil {
		t.Fatal(err)
	}
	if got.Document.Identity != id || got.Descriptor().ArtifactType != mediatype.Link {
		t.Errorf("parsed %+v", got.Document)
	}
	if id.String() != "registry.example:5000/team/runs@"+id.Digest.String() {
		t.Errorf("String() = %s", id)
	}
}

func TestLinkRejects(t *testing.T) {
	image := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("image"), Size: 99}
	idDigest := outputSubject(t).Digest
	good, err := spec.BuildLink(image, spec.LinkedIdentity{Digest: idDigest, Repository: "r.example/runs"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("build", func(t *testing.T) {
		for _, id := range []spec.LinkedIdentity{
			{Digest: idDigest, Repository: ""},
			{Digest: idDigest, Repository: "r.example/runs@" + idDigest.String()},
			{Digest: idDigest, Repository: "r.example/my runs"},
			{Digest: idDigest, Repository: "r.example/\x00"},
			{Digest: idDigest, Repository: strings.Repeat("r", spec.MaxRepositoryLength+1)},
			{Digest: "sha256:abc", Repository: "r.example/runs"},
			{Digest: digest.Digest("sha512:" + strings.Repeat("a", 128)), Repository: "r.example/runs"},
		} {
			if _, err := spec.BuildLink(image, id); !errors.Is(err, spec.ErrInvalidLink) {
				t.Errorf("BuildLink(%q, %q) = %v, want ErrInvalidLink", id.Digest, id.Repository, err)
			}
		}
		self := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: idDigest, Size: 10}
		if _, err := spec.BuildLink(self, spec.LinkedIdentity{Digest: idDigest, Repository: "r"}); !contains(checks(err), "link-subject") {
			t.Errorf("linking an identity to itself: %v", err)
		}
	})
	cases := []struct {
		name   string
		mutate func(m *ocispec.Manifest)
		doc    []byte
		want   string
	}{
		{name: "annotation digest differs", mutate: func(m *ocispec.Manifest) {
			m.Annotations[mediatype.AnnotationIdentity] = digest.FromString("x").String()
		}, want: "link-annotations"},
		{name: "annotation repository missing", mutate: func(m *ocispec.Manifest) { delete(m.Annotations, mediatype.AnnotationIdentityRepository) }, want: "link-annotations"},
		{name: "output artifactType", mutate: func(m *ocispec.Manifest) { m.ArtifactType = mediatype.OutputRecord }, want: "artifact-type"},
		{name: "no subject", mutate: func(m *ocispec.Manifest) { m.Subject = nil }, want: "subject"},
		// The schema fails too; link-identity takes precedence (spec/SPEC.md §8.5).
		{name: "document member missing", mutate: func(*ocispec.Manifest) {}, doc: []byte(`{"specVersion":"1.0","identity":{"digest":"` + idDigest.String() + `"}}`), want: "link-identity"},
		{name: "document member unknown", mutate: func(*ocispec.Manifest) {}, doc: []byte(`{"specVersion":"1.0","extra":1,"identity":{"digest":"` + idDigest.String() + `","repository":"r.example/runs"}}`), want: "document-schema"},
		{name: "document member twice", mutate: func(*ocispec.Manifest) {}, doc: []byte(`{"specVersion":"1.0","identity":{"digest":"` + idDigest.String() + `","repository":"r.example/runs","repository":"r.example/other"}}`), want: "document-json"},
		{name: "two layers", mutate: func(m *ocispec.Manifest) { m.Layers = append(m.Layers, m.Layers[0]) }, want: "layers"},
		{name: "created", mutate: func(m *ocispec.Manifest) { m.Annotations[mediatype.AnnotationCreated] = "2025-01-01T00:00:00Z" }, want: "no-created"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m ocispec.Manifest
			if err := json.Unmarshal(good.ManifestBytes, &m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(&m)
			doc := tc.doc
			if doc == nil {
				doc = good.DocumentBytes
			}
			mb, db := rebuild(t, m, doc, false)
			_, err := spec.ParseLink(mb, db)
			if !errors.Is(err, spec.ErrInvalidLink) || !contains(checks(err), tc.want) {
				t.Fatalf("error %v (checks %v), want ErrInvalidLink with %s", err, checks(err), tc.want)
			}
		})
	}
}

func ExampleBuildOutputRecord() {
	// The identity of a run (here with a single model component).
	id, err := spec.BuildIdentity(mediatype.CoreRoles(), []spec.ComponentEntry{{
		Role: mediatype.RoleModel, Name: "model.json", MediaType: mediatype.Component(mediatype.RoleModel, mediatype.FormatJSON),
		Digest: digest.FromString(`{"id":"m"}`), Size: 10}})
	if err != nil {
		panic(err)
	}
	answer := ocispec.Descriptor{MediaType: "text/markdown", Digest: digest.FromString("# 42\n"), Size: 5,
		Annotations: map[string]string{mediatype.AnnotationTitle: "answer.md"}}
	rec, err := spec.BuildOutputRecord(id.Descriptor(), spec.OutputDocument{Execution: map[string]any{
		spec.FactInstanceID: "run-1", spec.FactStatus: spec.StatusSucceeded, spec.FactExitCode: 0,
	}}, []ocispec.Descriptor{answer}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("identity:", id.Digest())
	fmt.Println("record:  ", rec.Digest())
	fmt.Println(string(rec.DocumentBytes))
	// Output:
	// identity: sha256:f347a31c1151d22235ce9a8f472ebe2c37aada80e41dc5c1e9d3d1dbd397c06e
	// record:   sha256:b9417157d76ec214fc9d1c6d9886b3973b2fcc2a2d6571abcd3849c89e8c68a7
	// {"execution":{"exitCode":0,"instanceId":"run-1","status":"succeeded"},"identity":"sha256:f347a31c1151d22235ce9a8f472ebe2c37aada80e41dc5c1e9d3d1dbd397c06e","specVersion":"1.0"}
}

func ExampleBuildLink() {
	image := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("an image manifest"), Size: 17}
	identity := digest.Digest("sha256:6c3c5a1fd8ef7b1c8a43b3e09b8bcf6cf7e9b8e1c10e27e5d1f69a2c1b9e0f3a")
	l, err := spec.BuildLink(image, spec.LinkedIdentity{Digest: identity, Repository: "registry.example/runs"})
	if err != nil {
		panic(err)
	}
	fmt.Println("link:", l.Digest())
	fmt.Println(string(l.DocumentBytes))
	// Output:
	// link: sha256:80837a7bb5a14986c221fc8ddd071bfa442400f2981658b0af2af6f8d03667d4
	// {"identity":{"digest":"sha256:6c3c5a1fd8ef7b1c8a43b3e09b8bcf6cf7e9b8e1c10e27e5d1f69a2c1b9e0f3a","repository":"registry.example/runs"},"specVersion":"1.0"}
}
