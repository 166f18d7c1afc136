package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/runid/runid-oci/mediatype"
)

// Well-known members of an output document's execution facts
// (spec/SPEC.md §8.1). Any other member is allowed; these have fixed types.
const (
	// FactInstanceID is a string naming this execution (a run instance ID).
	FactInstanceID = "instanceId"
	// FactStartedAt is an RFC 3339 date-time: when the execution started.
	FactStartedAt = "startedAt"
	// FactEndedAt is an RFC 3339 date-time, not before FactStartedAt.
	FactEndedAt = "endedAt"
	// FactStatus is one of StatusSucceeded, StatusFailed, StatusCancelled.
	FactStatus = "status"
	// FactExitCode is an integer: the process exit code.
	FactExitCode = "exitCode"
	// FactServedModel is a string: the model the serving endpoint reported
	// (which may differ from the declared one).
	FactServedModel = "servedModel"
	// FactTraceID is the W3C Trace Context trace ID of the execution's
	// span: 32 lower-case hex digits, not all zero.
	FactTraceID = "traceId"
	// FactSpanID is the span ID of the execution's span: 16 lower-case
	// hex digits, not all zero.
	FactSpanID = "spanId"
	// FactUsage is an object of token counts the serving endpoint
	// reported: inputTokens, outputTokens, cachedInputTokens, each a
	// non-negative integer, each optional.
	FactUsage = "usage"
	// FactFinishReasons is an array of non-empty strings: why the model
	// stopped, one per choice, as the serving endpoint reported them.
	FactFinishReasons = "finishReasons"
	// FactDenied is an array of at least one non-empty string: why a
	// policy refused the execution before it started (it never ran). A
	// record with it has status failed.
	FactDenied = "denied"
)

// Members of the FactUsage object.
const (
	UsageInputTokens       = "inputTokens"
	UsageOutputTokens      = "outputTokens"
	UsageCachedInputTokens = "cachedInputTokens"
)

// Values of FactStatus.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// MaxRepositoryLength is the longest repository a link may name, in bytes.
const MaxRepositoryLength = 1024

// OutputDocument is the config blob of an output record (spec/SPEC.md
// §8.1): the identity the record belongs to, facts about one execution, and
// descriptors of outputs stored elsewhere.
type OutputDocument struct {
	// SpecVersion is mediatype.SpecVersion when built.
	SpecVersion string `json:"specVersion"`
	// Identity is the identity digest; it equals the record's subject digest.
	Identity digest.Digest `json:"identity"`
	// Execution holds facts about one execution: the Fact* members with
	// their fixed types, and any other member. Numbers decoded from a
	// document are json.Number, so they survive re-encoding exactly.
	Execution map[string]any `json:"execution,omitempty"`
	// External lists outputs that are not layers of the record: artifacts
	// in another repository or registry, files behind URLs.
	External []ocispec.Descriptor `json:"external,omitempty"`
}

// OutputRecord is a built or parsed output record: its manifest and output
// document with their exact bytes.
type OutputRecord struct {
	Artifact
	Document OutputDocument
}

// Files returns the output files carried as layers, or nil when the record
// has only the empty layer (spec/SPEC.md §8.1).
func (r *OutputRecord) Files() []ocispec.Descriptor {
	if isEmptyLayers(r.Manifest.Layers) {
		return nil
	}
	return r.Manifest.Layers
}

// LinkedIdentity names a run identity from a link (spec/SPEC.md §8.2):
// its digest, and the repository where it can be fetched.
type LinkedIdentity struct {
	// Digest is the identity digest (sha256).
	Digest digest.Digest `json:"digest"`
	// Repository is where the identity lives, without tag or digest: a
	// registry repository such as "registry.example/runs", or the path of
	// an OCI image layout.
	Repository string `json:"repository"`
}

// String is "repository@digest".
func (l LinkedIdentity) String() string { return l.Repository + "@" + l.Digest.String() }

// LinkDocument is the config blob of a link (spec/SPEC.md §8.2).
type LinkDocument struct {
	// SpecVersion is mediatype.SpecVersion when built.
	SpecVersion string `json:"specVersion"`
	// Identity names the identity that produced the link's subject.
	Identity LinkedIdentity `json:"identity"`
}

// Link is a built or parsed link: its manifest and link document with
// their exact bytes.
type Link struct {
	Artifact
	Document LinkDocument
}

// EmptyLayer is the layer of a record or link that carries no file: the
// OCI empty descriptor (application/vnd.oci.empty.v1+json, the two bytes
// "{}"), without its embedded data.
func EmptyLayer() ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType: ocispec.DescriptorEmptyJSON.MediaType,
		Digest:    ocispec.DescriptorEmptyJSON.Digest,
		Size:      ocispec.DescriptorEmptyJSON.Size,
	}
}

func isEmptyLayers(layers []ocispec.Descriptor) bool {
	return len(layers) == 1 && layers[0].MediaType == ocispec.MediaTypeEmptyJSON
}

// referrerManifest encodes the canonical manifest of an artifact of
// artifactType whose config is docBytes (of configType), with layers,
// subject and annotations.
func referrerManifest(artifactType, configType string, docBytes []byte, layers []ocispec.Descriptor, subject ocispec.Descriptor, annotations map[string]string) ([]byte, error) {
	m := newManifest(artifactType, configType, docBytes, layers)
	m.Subject = subjectDescriptor(subject)
	m.Annotations = annotations
	return MarshalCanonical(m)
}

// subjectDescriptor keeps only what identifies the subject: media type,
// digest and size.
func subjectDescriptor(d ocispec.Descriptor) *ocispec.Descriptor {
	return &ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// BuildOutputRecord makes the output document and record manifest for the
// identity manifest subject (spec/SPEC.md §8.1). doc.SpecVersion and
// doc.Identity are filled in; files are the layer descriptors of the output
// files, each titled (mediatype.AnnotationTitle) with a name that follows
// §4.2; with no files the record gets the single empty layer. annotations
// become the manifest annotations (for example the creation time). Both
// documents are RFC 8785 canonical JSON. The result passes
// ParseOutputRecord.
func BuildOutputRecord(subject ocispec.Descriptor, doc OutputDocument, files []ocispec.Descriptor, annotations map[string]string) (*OutputRecord, error) {
	doc.SpecVersion = mediatype.SpecVersion
	doc.Identity = subject.Digest
	// The facts are checked before they are encoded: encoding would turn
	// invalid UTF-8 into U+FFFD, which the parse of the result cannot see.
	if err := CheckExecution(doc.Execution); err != nil {
		return nil, err
	}
	docBytes, err := MarshalCanonical(doc)
	if err != nil {
		return nil, &RecordError{Err: ErrInvalidOutput, Problems: []Problem{{Check: "document-json", Msg: err.Error()}}}
	}
	layers := make([]ocispec.Descriptor, 0, len(files))
	for _, f := range files {
		layers = append(layers, ocispec.Descriptor{MediaType: f.MediaType, Digest: f.Digest, Size: f.Size, Annotations: f.Annotations})
	}
	if len(layers) == 0 {
		layers = []ocispec.Descriptor{EmptyLayer()}
	}
	mBytes, err := referrerManifest(mediatype.OutputRecord, mediatype.OutputDocument, docBytes, layers, subject, annotations)
	if err != nil {
		return nil, fmt.Errorf("encode output record manifest: %w", err)
	}
	return ParseOutputRecord(mBytes, docBytes)
}

// ParseOutputRecord checks an output record manifest and its output
// document against each other and against spec/SPEC.md §8.1: manifest media
// type and schema version, artifactType, config media type and digest, a
// subject that is an image manifest whose digest the document names, titled
// and uniquely named file layers (or the single empty layer), and a valid
// output document. Every problem is returned in one *RecordError wrapping
// ErrInvalidOutput. It does not fetch the subject or the files.
func ParseOutputRecord(manifestBytes, documentBytes []byte) (*OutputRecord, error) {
	var probs problemList
	add := probs.add
	a, ok := parseReferrer(manifestBytes, documentBytes, mediatype.OutputRecord, mediatype.OutputDocument, "an output record", outputSubjectTypes, add)
	if !ok {
		return nil, &RecordError{Err: ErrInvalidOutput, Problems: probs}
	}
	m, rec := a.Manifest, &OutputRecord{Artifact: a}
	if isEmptyLayers(m.Layers) {
		if m.Layers[0].Digest != ocispec.DescriptorEmptyJSON.Digest || m.Layers[0].Size != ocispec.DescriptorEmptyJSON.Size {
			add("layer-empty", "", "the empty layer must have digest %s and size 2", ocispec.DescriptorEmptyJSON.Digest)
		}
	} else {
		if len(m.Layers) == 0 {
			add("layers", "", "no layers; a record without files carries the single empty layer (%s)", ocispec.MediaTypeEmptyJSON)
		}
		seen := map[string]bool{}
		for i, l := range m.Layers {
			title, ok := l.Annotations[mediatype.AnnotationTitle]
			subj := fmt.Sprintf("layer %d", i)
			switch {
			case !ok:
				add("layer-title", subj, "no %s annotation; every output file is titled", mediatype.AnnotationTitle)
			case ValidateName(title) != nil:
				add("layer-title", subj, "%v", ValidateName(title))
			case seen[NameKey(title)]:
				add("layer-title", title, "duplicate file name")
			default:
				seen[NameKey(title)] = true
				subj = title
			}
			if l.MediaType == "" {
				add("layer-media-type", subj, "empty media type")
			}
			if l.Digest.Validate() != nil {
				add("layer-digest", subj, "digest %q is not valid", l.Digest)
			}
			if l.Size < 0 {
				add("layer-size", subj, "negative size")
			}
		}
	}
	doc, warnings, err := ParseOutputDocument(documentBytes)
	rec.Warnings = warnings
	if err != nil {
		return nil, mergeRecordError(err, ErrInvalidOutput, probs)
	}
	rec.Document = *doc
	if m.Subject != nil && doc.Identity != m.Subject.Digest {
		add("subject-identity", "", "the document names identity %s but the subject is %s", doc.Identity, m.Subject.Digest)
	}
	if len(probs) > 0 {
		return nil, &RecordError{Err: ErrInvalidOutput, Problems: probs}
	}
	return rec, nil
}

// ParseOutputDocument decodes and validates an output document
// (spec/SPEC.md §8.1, schema/output.schema.json): members and types, the
// well-known execution facts (RFC 3339 times, endedAt not before
// startedAt), and external descriptors. Versions follow §9 as for identity
// documents: 1.0 is strict, unknown top-level members of 1.N (N > 0) are
// ignored with a warning, any other major version wraps
// ErrUnsupportedVersion.
func ParseOutputDocument(data []byte) (*OutputDocument, []string, error) {
	return parseDocument(data, "output document", "output.schema.json", ErrInvalidOutput,
		[]string{"specVersion", "identity", "execution", "external"},
		func(doc *OutputDocument) error { return CheckExecution(doc.Execution) })
}

// CheckExecution checks the well-known execution facts (spec/SPEC.md §8.1):
// startedAt and endedAt are RFC 3339 date-times and endedAt is not before
// startedAt; status is succeeded, failed or cancelled; exitCode is an
// integer; instanceId and servedModel are non-empty strings; traceId and
// spanId are W3C Trace Context IDs; usage is an object of non-negative
// integer token counts; finishReasons is an array of non-empty strings;
// denied is an array of at least one non-empty string, and a record with
// it has status failed.
// Other members are free. Errors wrap ErrInvalidOutput.
func CheckExecution(facts map[string]any) error {
	var probs []Problem
	add := func(subject, format string, a ...any) {
		probs = append(probs, Problem{Check: "execution", Subject: subject, Msg: fmt.Sprintf(format, a...)})
	}
	times := map[string]time.Time{}
	for _, k := range []string{FactStartedAt, FactEndedAt} {
		v, ok := facts[k]
		if !ok {
			continue
		}
		s, isStr := v.(string)
		t, err := parseDateTime(s)
		if !isStr || err != nil {
			add(k, "want an RFC 3339 date-time such as 2025-01-31T12:00:00Z, got %v", v)
			continue
		}
		times[k] = t
	}
	if s, ok := times[FactStartedAt]; ok {
		if e, ok := times[FactEndedAt]; ok && e.Before(s) {
			add(FactEndedAt, "%s is before %s %s", e.Format(time.RFC3339Nano), FactStartedAt, s.Format(time.RFC3339Nano))
		}
	}
	if v, ok := facts[FactStatus]; ok {
		switch v {
		case StatusSucceeded, StatusFailed, StatusCancelled:
		default:
			add(FactStatus, "want %s, %s or %s, got %v", StatusSucceeded, StatusFailed, StatusCancelled, v)
		}
	}
	if v, ok := facts[FactExitCode]; ok && !isInteger(v) {
		add(FactExitCode, "want an integer, got %v", v)
	}
	for k, limit := range map[string]int{FactInstanceID: 256, FactServedModel: 1024} {
		if v, ok := facts[k]; ok {
			if s, isStr := v.(string); !isStr || s == "" || len(s) > limit {
				add(k, "want a non-empty string of at most %d bytes, got %.80v", limit, v)
			}
		}
	}
	for k, n := range map[string]int{FactTraceID: 32, FactSpanID: 16} {
		if v, ok := facts[k]; ok {
			if s, isStr := v.(string); !isStr || !isTraceID(s, n) {
				add(k, "want %d lower-case hex digits, not all zero, got %v", n, v)
			}
		}
	}
	if v, ok := facts[FactUsage]; ok {
		u, isObj := v.(map[string]any)
		if !isObj {
			add(FactUsage, "want an object of token counts, got %v", v)
		}
		for _, k := range []string{UsageInputTokens, UsageOutputTokens, UsageCachedInputTokens} {
			if n, ok := u[k]; ok && (!isInteger(n) || isNegative(n)) {
				add(FactUsage+"."+k, "want a non-negative integer, got %v", n)
			}
		}
	}
	if v, ok := facts[FactFinishReasons]; ok {
		if !isStringList(v) {
			add(FactFinishReasons, "want an array of non-empty strings, got %v", v)
		}
	}
	if v, ok := facts[FactDenied]; ok {
		if !isStringList(v) || isEmptyList(v) {
			add(FactDenied, "want an array of at least one non-empty string, got %v", v)
		}
		if st, ok := facts[FactStatus]; ok && st != StatusFailed {
			add(FactStatus, "a denied execution has status %s, got %v", StatusFailed, st)
		}
	}
	for k, v := range facts {
		if k == "" || len(k) > 128 {
			add(strconv.Quote(k), "a fact name is 1 to 128 bytes")
		}
		if !validUTF8Value(k, v) {
			add(strconv.QuoteToASCII(k), "not valid UTF-8 text; it would be written as U+FFFD")
		}
	}
	if len(probs) > 0 {
		return &RecordError{Err: ErrInvalidOutput, Problems: probs}
	}
	return nil
}

// parseDateTime parses an RFC 3339 date-time, including a leap second
// (seconds 60), which RFC 3339 allows and Go's time package does not: it
// is read as the first instant after second 59, so that the order of
// startedAt and endedAt stays right.
func parseDateTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil || len(s) < 19 || s[10] != 'T' && s[10] != 't' || s[17:19] != "60" {
		return t, err
	}
	t, err = time.Parse(time.RFC3339Nano, s[:17]+"59"+s[19:])
	if err != nil {
		return t, err
	}
	return t.Truncate(time.Second).Add(time.Second), nil
}

// validUTF8Value reports whether a fact's name and every string in its
// value (member names included) are valid UTF-8: encoding/json would
// write U+FFFD in place of an invalid byte, and two facts would read alike.
func validUTF8Value(name string, v any) bool {
	if !utf8.ValidString(name) {
		return false
	}
	switch x := v.(type) {
	case string:
		return utf8.ValidString(x)
	case map[string]any:
		for k, e := range x {
			if !validUTF8Value(k, e) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !validUTF8Value("", e) {
				return false
			}
		}
	}
	return true
}

// isTraceID reports whether s is n lower-case hex digits, not all zero
// (W3C Trace Context trace-id and parent-id).
func isTraceID(s string, n int) bool {
	if len(s) != n {
		return false
	}
	zero := true
	for _, c := range []byte(s) {
		switch {
		case c == '0':
		case c >= '1' && c <= '9', c >= 'a' && c <= 'f':
			zero = false
		default:
			return false
		}
	}
	return !zero
}

func isNegative(v any) bool {
	switch n := v.(type) {
	case int:
		return n < 0
	case int64:
		return n < 0
	case int32:
		return n < 0
	case json.Number:
		i, err := n.Int64()
		return err == nil && i < 0
	case float64:
		return n < 0
	}
	return false
}

// isEmptyList reports whether v is an array with no element.
func isEmptyList(v any) bool {
	switch l := v.(type) {
	case []string:
		return len(l) == 0
	case []any:
		return len(l) == 0
	}
	return false
}

func isStringList(v any) bool {
	switch l := v.(type) {
	case []string:
		for _, s := range l {
			if s == "" {
				return false
			}
		}
		return true
	case []any:
		for _, e := range l {
			if s, ok := e.(string); !ok || s == "" {
				return false
			}
		}
		return true
	}
	return false
}

func isInteger(v any) bool {
	switch n := v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	case json.Number:
		_, err := n.Int64()
		return err == nil
	case float64:
		return n == float64(int64(n))
	}
	return false
}

// BuildLink makes the link document and manifest that attach the identity
// id to the artifact subject (spec/SPEC.md §8.2). The manifest has the
// single empty layer and carries the identity digest and repository both in
// the link document and as the dev.runid.identity* annotations. It has no
// creation time, so linking the same artifact to the same identity twice
// gives the same link digest. The result passes ParseLink.
func BuildLink(subject ocispec.Descriptor, id LinkedIdentity) (*Link, error) {
	doc := LinkDocument{SpecVersion: mediatype.SpecVersion, Identity: id}
	docBytes, err := MarshalCanonical(doc)
	if err != nil {
		return nil, fmt.Errorf("encode link document: %w", err)
	}
	mBytes, err := referrerManifest(mediatype.Link, mediatype.LinkDocument, docBytes, []ocispec.Descriptor{EmptyLayer()}, subject,
		map[string]string{
			mediatype.AnnotationIdentity:           id.Digest.String(),
			mediatype.AnnotationIdentityRepository: id.Repository,
		})
	if err != nil {
		return nil, fmt.Errorf("encode link manifest: %w", err)
	}
	return ParseLink(mBytes, docBytes)
}

// ParseLink checks a link manifest and its link document against each
// other and against spec/SPEC.md §8.2: manifest media type and schema
// version, artifactType, config media type and digest, a subject that is
// not the linked identity itself, and identity annotations equal to the
// document. Every problem is returned in one *RecordError wrapping
// ErrInvalidLink. It does not fetch the subject or the identity.
func ParseLink(manifestBytes, documentBytes []byte) (*Link, error) {
	var probs problemList
	add := probs.add
	a, ok := parseReferrer(manifestBytes, documentBytes, mediatype.Link, mediatype.LinkDocument, "a link", linkSubjectTypes, add)
	if !ok {
		return nil, &RecordError{Err: ErrInvalidLink, Problems: probs}
	}
	m, l := a.Manifest, &Link{Artifact: a}
	doc, warnings, err := ParseLinkDocument(documentBytes)
	l.Warnings = warnings
	if err != nil {
		return nil, mergeRecordError(err, ErrInvalidLink, probs)
	}
	l.Document = *doc
	if got := m.Annotations[mediatype.AnnotationIdentity]; got != doc.Identity.Digest.String() {
		add("link-annotations", mediatype.AnnotationIdentity, "annotation %q, document says %s", got, doc.Identity.Digest)
	}
	if got := m.Annotations[mediatype.AnnotationIdentityRepository]; got != doc.Identity.Repository {
		add("link-annotations", mediatype.AnnotationIdentityRepository, "annotation %q, document says %q", got, doc.Identity.Repository)
	}
	if m.Subject != nil && m.Subject.Digest == doc.Identity.Digest {
		add("link-subject", "", "a link's subject is the produced artifact, not the identity itself")
	}
	if len(m.Layers) != 1 || !isEmptyLayers(m.Layers) || m.Layers[0].Digest != ocispec.DescriptorEmptyJSON.Digest || m.Layers[0].Size != ocispec.DescriptorEmptyJSON.Size {
		add("layers", "", "a link has exactly one layer, the OCI empty descriptor (%s, %s, size 2)", ocispec.MediaTypeEmptyJSON, ocispec.DescriptorEmptyJSON.Digest)
	}
	if _, ok := m.Annotations[mediatype.AnnotationCreated]; ok {
		add("no-created", "", "a link carries no time, so that linking twice gives one link")
	}
	if len(probs) > 0 {
		return nil, &RecordError{Err: ErrInvalidLink, Problems: probs}
	}
	return l, nil
}

// ParseLinkDocument decodes and validates a link document (spec/SPEC.md
// §8.2, schema/link.schema.json). Versions follow §9.
func ParseLinkDocument(data []byte) (*LinkDocument, []string, error) {
	return parseDocument(data, "link document", "link.schema.json", ErrInvalidLink,
		[]string{"specVersion", "identity"},
		func(doc *LinkDocument) error { return ValidateLinkedIdentity(doc.Identity) })
}

// parseDocument decodes the document of a referrer: the version rules of
// spec/SPEC.md §9 (known lists the members of this version), the schema
// schemaName, then check. Numbers decode as json.Number. Errors are
// *RecordError wrapping sentinel (or ErrUnsupportedVersion).
func parseDocument[T any](data []byte, what, schemaName string, sentinel error, known []string, check func(*T) error) (*T, []string, error) {
	data, warnings, err := versioned(data, what, sentinel, known...)
	if err != nil {
		return nil, warnings, err
	}
	fail := func(name, format string, a ...any) error {
		return &RecordError{Err: sentinel, Problems: []Problem{{Check: name, Msg: fmt.Sprintf(format, a...)}}}
	}
	// The members of known types are decoded first and their own checks
	// (execution, link-identity) take precedence over document-schema,
	// which is reported only when none of them fails (spec/SPEC.md §8.5).
	doc := new(T)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(doc); err != nil {
		return nil, warnings, fail("document-schema", "a member has the wrong type: %v", err)
	}
	if err := check(doc); err != nil {
		return nil, warnings, err
	}
	if err := ValidateJSON(schemaName, data); err != nil {
		field, msg := leafSchemaDetail(err)
		return nil, warnings, fail("document-schema", "%s: %s", field, msg)
	}
	return doc, warnings, nil
}

// ValidateLinkedIdentity checks what a link names (spec/SPEC.md §8.2): a
// sha256 digest, and a repository of 1 to MaxRepositoryLength bytes of
// UTF-8 without spaces, control characters or "@" (no digest; the digest
// is separate). Errors wrap ErrInvalidLink.
func ValidateLinkedIdentity(id LinkedIdentity) error {
	var probs []Problem
	if id.Digest.Validate() != nil || id.Digest.Algorithm() != digest.SHA256 {
		probs = append(probs, Problem{Check: "link-identity", Subject: "digest", Msg: fmt.Sprintf("%q is not a valid sha256 digest", id.Digest)})
	}
	r := id.Repository
	switch {
	case r == "":
		probs = append(probs, Problem{Check: "link-identity", Subject: "repository", Msg: "empty; name where the identity lives, such as registry.example/runs"})
	case len(r) > MaxRepositoryLength:
		probs = append(probs, Problem{Check: "link-identity", Subject: "repository", Msg: fmt.Sprintf("longer than %d bytes", MaxRepositoryLength)})
	case strings.ContainsRune(r, '@'):
		probs = append(probs, Problem{Check: "link-identity", Subject: "repository", Msg: fmt.Sprintf("%q contains a digest; give the repository only", r)})
	case strings.IndexFunc(r, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) || c == unicode.ReplacementChar }) >= 0:
		probs = append(probs, Problem{Check: "link-identity", Subject: "repository", Msg: fmt.Sprintf("%q contains a space, control or invalid character", r)})
	}
	if len(probs) > 0 {
		return &RecordError{Err: ErrInvalidLink, Problems: probs}
	}
	return nil
}

// Media types a subject may have: an output record's subject is an identity
// (an OCI image manifest); a link's subject is any manifest or index,
// including Docker schema 2 container images.
var (
	outputSubjectTypes = []string{ocispec.MediaTypeImageManifest}
	linkSubjectTypes   = []string{ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)

// parseReferrer decodes the manifest of an artifact of artifactType
// (what, in messages) that refers to a subject of one of subjectTypes, and
// checks its header, its config against documentBytes and its subject. ok
// is false when the manifest cannot be decoded.
func parseReferrer(manifestBytes, documentBytes []byte, artifactType, configType, what string, subjectTypes []string, add addFunc) (a Artifact, ok bool) {
	m, ok := parseManifestHeader(manifestBytes, artifactType, configType, what, add)
	if !ok {
		return a, false
	}
	checkConfigBytes(m, documentBytes, add)
	checkSubject(m, subjectTypes, add)
	return Artifact{Manifest: m, ManifestBytes: manifestBytes, DocumentBytes: documentBytes}, true
}

func checkSubject(m ocispec.Manifest, allowed []string, add addFunc) {
	s := m.Subject
	switch {
	case s == nil:
		add("subject", "", "no subject; it must be the descriptor of the artifact it refers to")
	case !slices.Contains(allowed, s.MediaType):
		add("subject", "", "subject media type %q is not one of %s", s.MediaType, strings.Join(allowed, ", "))
	case s.Digest.Validate() != nil:
		add("subject", "", "subject digest %q is not valid", s.Digest)
	case s.Size <= 0:
		add("subject", "", "subject size %d is not positive", s.Size)
	}
}

// versioned applies the version rules of spec/SPEC.md §9 to a document:
// major 1 only; for 1.N with N > 0, top-level members other than known are
// dropped and reported as warnings.
func versioned(data []byte, what string, sentinel error, known ...string) ([]byte, []string, error) {
	if err := checkJSONText(data); err != nil {
		return nil, nil, &RecordError{Err: sentinel, Problems: []Problem{{Check: "document-json", Msg: fmt.Sprintf("%s: %v", what, err)}}}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, &RecordError{Err: sentinel, Problems: []Problem{{Check: "document-json", Msg: fmt.Sprintf("%s is not a JSON object: %v", what, err)}}}
	}
	var version string
	if v, ok := raw["specVersion"]; ok {
		_ = json.Unmarshal(v, &version)
	}
	major, minor, ok := strings.Cut(version, ".")
	if !ok || major != "1" {
		return nil, nil, &RecordError{Err: ErrUnsupportedVersion, Problems: []Problem{{Check: "spec-version",
			Msg: fmt.Sprintf("%s spec version %q; this reader implements %s", what, version, mediatype.SpecVersion)}}}
	}
	var warnings []string
	if n, err := strconv.Atoi(minor); err == nil && n > 0 {
		isKnown := map[string]bool{}
		for _, k := range known {
			isKnown[k] = true
		}
		for k := range raw {
			if !isKnown[k] {
				warnings = append(warnings, fmt.Sprintf("ignored field %q of spec version %s", k, version))
				delete(raw, k)
			}
		}
		if b, err := json.Marshal(raw); err == nil {
			data = b
		}
	}
	slices.Sort(warnings)
	return data, warnings, nil
}

// mergeRecordError prepends earlier problems to a document error. An
// unsupported version is the sentinel only when it is the only cause.
func mergeRecordError(err, sentinel error, probs []Problem) error {
	var re *RecordError
	if !errors.As(err, &re) {
		return err
	}
	out := &RecordError{Err: re.Err, Problems: append(probs, re.Problems...)}
	if len(probs) > 0 {
		out.Err = sentinel
	}
	return out
}

// leafSchemaDetail reduces a schema validation error to its deepest leaf, so that a
// problem at the top level (a missing or unknown member) is reported by its
// own message rather than by the schema's summary line.
func leafSchemaDetail(err error) (field, msg string) {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "", err.Error()
	}
	var leaf *jsonschema.ValidationError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			if leaf == nil || len(e.InstanceLocation) > len(leaf.InstanceLocation) {
				leaf = e
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	var b strings.Builder
	for _, p := range leaf.InstanceLocation {
		if _, err := strconv.Atoi(p); err == nil {
			fmt.Fprintf(&b, "[%s]", p)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	field = b.String()
	if field == "" {
		field = "(document)"
	}
	msg = leaf.Error()
	if leaf.ErrorKind != nil {
		msg = leaf.ErrorKind.LocalizedString(message.NewPrinter(language.English))
	}
	return field, msg
}
