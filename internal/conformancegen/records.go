package main

import (
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// answer is the one file of the base output record.
var answer = []byte("42\n")

// artifact is an edited output record or link: manifest and document as
// generic trees, with raw edits of the document bytes.
type artifact struct {
	manifest, doc map[string]any
	editDoc       func([]byte) []byte
	blobs         map[digest.Digest][]byte // stored as they are
	identity      ocispec.Descriptor       // the identity written with it
}

func (a *artifact) layers() []any              { return a.manifest["layers"].([]any) }
func (a *artifact) layer(i int) map[string]any { return a.layers()[i].(map[string]any) }
func (a *artifact) annotations() map[string]any {
	return a.manifest["annotations"].(map[string]any)
}

// write adds the artifact to l, tagged, its config pointing at its document.
func (a *artifact) write(l *layout) {
	docBytes := mustCanonical(a.doc)
	if a.editDoc != nil {
		docBytes = a.editDoc(docBytes)
	}
	for d, b := range a.blobs {
		l.blobs[d] = b
	}
	cfg := l.add("", docBytes)
	a.manifest["config"].(map[string]any)["digest"], a.manifest["config"].(map[string]any)["size"] = cfg.Digest.String(), cfg.Size
	l.manifest(mustCanonical(a.manifest), tag)
}

// newRecord writes the base identity to l and returns an output record of
// it with one file and the facts of one execution.
func newRecord(l *layout) *artifact {
	subject := newIdentity(false).write(l, "identity")
	file := l.add("text/plain", answer)
	file.Annotations = map[string]string{mediatype.AnnotationTitle: "answer.txt"}
	rec := must(spec.BuildOutputRecord(ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		spec.OutputDocument{Execution: map[string]any{spec.FactStartedAt: "2026-01-01T10:00:00Z", spec.FactEndedAt: "2026-01-01T10:00:02Z",
			spec.FactStatus: spec.StatusSucceeded, spec.FactExitCode: 0}},
		[]ocispec.Descriptor{file}, map[string]string{mediatype.AnnotationCreated: "2026-01-01T10:00:02Z"}))
	return &artifact{manifest: tree(rec.ManifestBytes), doc: tree(rec.DocumentBytes)}
}

// newLink writes a small image to l and returns a link from it to the
// base identity (which is written too).
func newLink(l *layout) *artifact {
	id := newIdentity(false).write(l, "identity")
	empty := l.add(ocispec.MediaTypeEmptyJSON, []byte("{}"))
	image := l.manifest(mustCanonical(map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest,
		"artifactType": "application/vnd.example.model.v1", "config": empty, "layers": []any{empty}}), "image")
	lk := must(spec.BuildLink(ocispec.Descriptor{MediaType: image.MediaType, Digest: image.Digest, Size: image.Size},
		spec.LinkedIdentity{Digest: id.Digest, Repository: "registry.example/runs"}))
	return &artifact{manifest: tree(lk.ManifestBytes), doc: tree(lk.DocumentBytes),
		identity: ocispec.Descriptor{MediaType: id.MediaType, Digest: id.Digest, Size: id.Size}}
}

func recordCase(name, description string, checks []string, edit func(*artifact)) vcase {
	return vcase{name: name, description: description, kind: KindRecord, checks: checks,
		build: func(l *layout) map[string][]byte {
			a := newRecord(l)
			if edit != nil {
				edit(a)
			}
			a.write(l)
			return nil
		}}
}

func linkCase(name, description string, checks []string, edit func(*artifact)) vcase {
	return vcase{name: name, description: description, kind: KindLink, checks: checks,
		build: func(l *layout) map[string][]byte {
			a := newLink(l)
			if edit != nil {
				edit(a)
			}
			a.write(l)
			return nil
		}}
}

var recordCases = []vcase{
	recordCase("record-valid", "an output record with one file, of the base identity", c(), nil),
	recordCase("record-leap-second", "an execution that ends on a leap second (RFC 3339 allows it)", c(), func(a *artifact) {
		e := a.doc["execution"].(map[string]any)
		e[spec.FactStartedAt], e[spec.FactEndedAt] = "2016-12-31T23:59:59Z", "2016-12-31T23:59:60Z"
	}),
	recordCase("subject", "a record whose subject has the media type of an image index", c("subject"), func(a *artifact) {
		a.manifest["subject"].(map[string]any)["mediaType"] = ocispec.MediaTypeImageIndex
	}),
	recordCase("subject-identity", "the document names another identity than the subject", c("subject-identity"), func(a *artifact) {
		a.doc["identity"] = digest.FromString("other").String()
	}),
	recordCase("layers", "a record without layers", c("layers"), func(a *artifact) { a.manifest["layers"] = []any{} }),
	recordCase("layer-empty", "a single empty-type layer that is not the OCI empty descriptor", c("layer-empty"), func(a *artifact) {
		a.manifest["layers"] = []any{map[string]any{"mediaType": ocispec.MediaTypeEmptyJSON, "digest": digest.FromBytes(answer).String(), "size": len(answer)}}
	}),
	recordCase("layer-title", "a file layer without a title", c("layer-title"), func(a *artifact) { delete(a.layer(0), "annotations") }),
	recordCase("layer-media-type", "a file layer with an empty media type", c("layer-media-type"), func(a *artifact) { a.layer(0)["mediaType"] = "" }),
	recordCase("layer-size", "a file layer with a negative size", c("layer-size"), func(a *artifact) { a.layer(0)["size"] = -1 }),
	recordCase("layer-digest", "a file layer whose digest is not a digest", c("layer-digest"), func(a *artifact) { a.layer(0)["digest"] = "sha256:42" }),
	recordCase("execution", "exitCode written as a string (the schema fails too)", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactExitCode] = "0"
	}),
	recordCase("execution-order", "endedAt before startedAt", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactEndedAt] = "2026-01-01T09:59:59Z"
	}),
	recordCase("record-telemetry-valid", "a record with the telemetry facts: traceId, spanId, usage (with a member of its own) and finishReasons", c(), func(a *artifact) {
		e := a.doc["execution"].(map[string]any)
		e[spec.FactTraceID], e[spec.FactSpanID] = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
		e[spec.FactUsage] = map[string]any{spec.UsageInputTokens: 2500, spec.UsageOutputTokens: 2, spec.UsageCachedInputTokens: 2048, "reasoningTokens": 0}
		e[spec.FactFinishReasons] = []any{"stop", "length"}
	}),
	recordCase("record-denied-valid", "a record of an execution a policy refused: status failed and the denied reasons", c(), func(a *artifact) {
		e := a.doc["execution"].(map[string]any)
		delete(e, spec.FactExitCode)
		e[spec.FactStatus], e[spec.FactDenied] = spec.StatusFailed, []any{"temperature above 0.2 is not allowed"}
	}),
	recordCase("trace-id-upper-case", "a traceId in upper-case hex digits", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactTraceID] = "4BF92F3577B34DA6A3CE929D0E0E4736"
	}),
	recordCase("trace-id-zero", "a traceId of 32 zeros, W3C Trace Context's invalid trace ID", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactTraceID] = "00000000000000000000000000000000"
	}),
	recordCase("span-id-length", "a spanId of 15 hex digits", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactSpanID] = "00f067aa0ba902b"
	}),
	recordCase("span-id-zero", "a spanId of 16 zeros, W3C Trace Context's invalid span ID", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactSpanID] = "0000000000000000"
	}),
	recordCase("usage-negative", "usage with a negative inputTokens", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactUsage] = map[string]any{spec.UsageInputTokens: -1}
	}),
	recordCase("usage-fraction", "usage with outputTokens written as 2.5", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactUsage] = map[string]any{spec.UsageOutputTokens: 2.5}
	}),
	recordCase("usage-not-object", "usage written as a number", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactUsage] = 2502
	}),
	recordCase("finish-reasons-empty", "finishReasons holding an empty string", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactFinishReasons] = []any{""}
	}),
	recordCase("finish-reasons-string", "finishReasons written as a string, not an array", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactFinishReasons] = "stop"
	}),
	recordCase("denied-empty", "denied as an empty array", c("execution"), func(a *artifact) {
		e := a.doc["execution"].(map[string]any)
		e[spec.FactStatus], e[spec.FactDenied] = spec.StatusFailed, []any{}
	}),
	recordCase("denied-succeeded", "denied reasons on an execution whose status is succeeded", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactDenied] = []any{"temperature above 0.2 is not allowed"}
	}),
	recordCase("record-document-json", "the output document has identity twice", c("document-json"), func(a *artifact) {
		a.editDoc = replaceOnce(`,"specVersion"`, `,"identity":"`+digest.FromString("other").String()+`","specVersion"`)
	}),
	recordCase("record-document-schema", "the output document has a member of its own", c("document-schema"), func(a *artifact) { a.doc["extra"] = 1 }),
	recordCase("record-blob-digest", "the file's blob holds other bytes", c("blob-digest"), func(a *artifact) {
		d := digest.FromBytes([]byte("43\n"))
		a.layer(0)["digest"] = d.String()
		a.blobs = map[digest.Digest][]byte{d: answer}
	}),
	linkCase("link-valid", "a link from an image to the base identity", c(), nil),
	linkCase("link-identity", "a repository with a space", c("link-identity"), func(a *artifact) {
		a.doc["identity"].(map[string]any)["repository"] = "registry.example/my runs"
		a.annotations()[mediatype.AnnotationIdentityRepository] = "registry.example/my runs"
	}),
	linkCase("link-annotations", "the identity annotation differs from the document", c("link-annotations"), func(a *artifact) {
		a.annotations()[mediatype.AnnotationIdentity] = digest.FromString("other").String()
	}),
	linkCase("link-subject", "the subject is the linked identity itself", c("link-subject"), func(a *artifact) {
		a.manifest["subject"] = a.identity
	}),
	linkCase("link-layers", "a link with two layers", c("layers"), func(a *artifact) { a.manifest["layers"] = append(a.layers(), a.layer(0)) }),
	linkCase("link-created", "a link with a creation time", c("no-created"), func(a *artifact) {
		a.annotations()[mediatype.AnnotationCreated] = "2026-01-01T00:00:00Z"
	}),
	linkCase("link-no-subject", "a link without a subject", c("subject"), func(a *artifact) { delete(a.manifest, "subject") }),
}
