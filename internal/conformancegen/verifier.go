package main

import (
	"bytes"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/sign"
)

// Kinds of verifier case: what the reference names and how it is checked.
const (
	KindIdentity = "identity"      // verify the identity (§6.2), with reveal or key if given
	KindRecord   = "output-record" // verify the record and the identity it names (§8.1)
	KindLink     = "link"          // check the link (§8.2): manifest and document
)

// vcase is one verifier case.
type vcase struct {
	name, description string
	kind              string
	byDigest          bool // the reference is the digest the last index entry names, not the tag "run"
	build             func(l *layout) (files map[string][]byte)
	key               bool // verify signatures with keys/test.pub
	tar               bool // the layout is given as a tar file (layout.tar)
	// declaration, if set, holds the files of a declaration (runid.yaml
	// and the files it names) to verify the identity against (§6.4).
	declaration map[string]string
	checks      []string // the exact set of failing checks
}

// tag is the tag of the artifact a case is about.
const tag = "run"

// identityCase is a case about the base identity after edit.
func identityCase(name, description string, checks []string, edit func(*identity)) vcase {
	return vcase{name: name, description: description, kind: KindIdentity, checks: checks,
		build: func(l *layout) map[string][]byte {
			id := newIdentity(false)
			if edit != nil {
				edit(id)
			}
			id.write(l, tag)
			return nil
		}}
}

func c(ids ...string) []string { return ids }

var verifierCases = []vcase{
	identityCase("identity-valid", "the base identity: a json model and a text input, every other core role none", c(), nil),
	{name: "manifest-digest", description: "index.json names the manifest by a digest its bytes (another spelling of the same manifest) do not hash to; the reference is that digest",
		kind: KindIdentity, byDigest: true, checks: c("manifest-digest"), build: func(l *layout) map[string][]byte {
			id := newIdentity(false)
			desc := id.write(l, "")
			other := append([]byte(" "), l.blobs[desc.Digest]...)
			l.blobs[desc.Digest] = other
			l.index[len(l.index)-1].Size = int64(len(other))
			return nil
		}},
	{name: "manifest-size", description: "index.json claims one byte more than the manifest has",
		kind: KindIdentity, checks: c("manifest-size"), build: func(l *layout) map[string][]byte {
			newIdentity(false).write(l, tag)
			l.index[len(l.index)-1].Size++
			return nil
		}},
	identityCase("manifest-json-duplicate", "the manifest has schemaVersion twice (3, then 2)", c("manifest-json"), func(id *identity) {
		id.editManifest = replaceOnce(`"schemaVersion":2`, `"schemaVersion":3,"schemaVersion":2`)
	}),
	identityCase("manifest-json-utf8", "a layer title holds the byte 0xFF, which is not UTF-8", c("manifest-json"), func(id *identity) {
		id.editManifest = replaceOnce(`"org.opencontainers.image.title":"input/question.txt"`, "\"org.opencontainers.image.title\":\"input/question\xff.txt\"")
	}),
	identityCase("manifest-json-size-fraction", `a layer size written 18.0: sizes are integers`, c("manifest-json"), func(id *identity) {
		id.editManifest = replaceOnce(`"size":18}`, `"size":18.0}`)
	}),
	identityCase("manifest-media-type", "the manifest's mediaType is Docker's", c("manifest-media-type"), func(id *identity) {
		id.manifest["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
	}),
	identityCase("manifest-schema-version", "schemaVersion 1", c("manifest-schema-version"), func(id *identity) { id.manifest["schemaVersion"] = 1 }),
	identityCase("artifact-type", "another artifactType", c("artifact-type"), func(id *identity) {
		id.manifest["artifactType"] = "application/vnd.example.other.v1"
	}),
	identityCase("config-media-type", "the config media type of a container image", c("config-media-type"), func(id *identity) {
		id.config()["mediaType"] = ocispec.MediaTypeImageConfig
	}),
	identityCase("config-digest-algorithm", "a sha512 config digest", c("config-digest"), func(id *identity) {
		id.keepConfig = true
		id.config()["digest"] = digest.SHA512.FromBytes([]byte("x")).String()
	}),
	identityCase("config-digest", "the stored document has one byte changed", c("config-digest"), func(id *identity) {
		b := mustCanonical(id.doc)
		id.keepConfig, id.noDocument = true, true
		id.config()["digest"], id.config()["size"] = digest.FromBytes(b).String(), len(b)
		id.blobs[digest.FromBytes(b)] = bytes.Replace(b, []byte(`"present"`), []byte(`"Present"`), 1)
	}),
	identityCase("config-size", "the config descriptor claims a negative size", c("config-size"), func(id *identity) {
		id.keepConfig = true
		b := mustCanonical(id.doc)
		id.config()["digest"], id.config()["size"] = digest.FromBytes(b).String(), -1
	}),
	identityCase("config-missing", "the identity document is not in the layout", c("config-missing"), func(id *identity) { id.noDocument = true }),
	identityCase("no-subject", "the manifest has a subject", c("no-subject"), func(id *identity) { id.manifest["subject"] = id.layer(0) }),
	identityCase("no-subject-null", `the manifest has "subject": null`, c("no-subject"), func(id *identity) { id.manifest["subject"] = nil }),
	identityCase("no-created", "the manifest has org.opencontainers.image.created", c("no-created"), func(id *identity) {
		id.manifest["annotations"] = map[string]any{mediatype.AnnotationCreated: "2026-01-01T00:00:00Z"}
	}),
	identityCase("manifest-annotation", "an annotation this specification does not define is ignored (§9)", c(), func(id *identity) {
		id.manifest["annotations"] = map[string]any{"com.example.note": "x"}
		id.layer(0)["annotations"].(map[string]any)["com.example.note"] = "y"
	}),
	identityCase("manifest-members", "a manifest member that an identity does not have", c("manifest-members"), func(id *identity) { id.manifest["extra"] = true }),
	identityCase("manifest-members-urls", "a layer with urls", c("manifest-members"), func(id *identity) {
		id.layer(1)["urls"] = []any{"https://example.com/question.txt"}
	}),
	identityCase("manifest-members-platform", "a layer with a platform", c("manifest-members"), func(id *identity) {
		id.layer(1)["platform"] = map[string]any{"architecture": "amd64", "os": "linux"}
	}),
	identityCase("document-json-duplicate", "the identity document has roles twice", c("document-json"), func(id *identity) {
		id.editDoc = replaceOnce(`,"specVersion"`, `,"roles":{},"specVersion"`)
	}),
	identityCase("document-json-array", "the identity document is an array", c("document-json"), func(id *identity) { id.editDoc = func([]byte) []byte { return []byte("[]") } }),
	identityCase("document-schema", "a document entry with a member of its own", c("document-schema"), func(id *identity) { id.component(1)["note"] = "x" }),
	identityCase("document-schema-type", "a document entry whose size is a string", c("document-schema"), func(id *identity) { id.component(1)["size"] = "18" }),
	identityCase("spec-version", "specVersion 2.0: unsupported, not invalid", c("spec-version"), func(id *identity) { id.doc["specVersion"] = "2.0" }),
	identityCase("spec-version-minor", "specVersion 1.1 with a top-level member of its own: ignored (§9)", c(), func(id *identity) {
		id.doc["specVersion"], id.doc["future"] = "1.1", map[string]any{}
	}),
	identityCase("role-accounted", "the tools role is missing", c("role-accounted"), func(id *identity) { delete(id.roles(), mediatype.RoleTools) }),
	identityCase("role-name", "a role that is neither core nor reverse-DNS (the schema fails too)", c("role-name"), func(id *identity) { id.roles()["Guardrails"] = "none" }),
	identityCase("role-state", "the model role says none but has a component", c("role-state"), func(id *identity) { id.roles()[mediatype.RoleModel] = "none" }),
	identityCase("layers-match", "the document names other bytes for the input than its layer", c("layers-match"), func(id *identity) {
		id.component(1)["digest"] = digest.FromString("other").String()
	}),
	identityCase("layers-match-count", "a layer without a document entry", c("layers-match"), func(id *identity) {
		id.manifest["layers"] = append(id.layers(), id.layer(1))
	}),
	identityCase("component-name", "a component named ../x", c("component-name"), func(id *identity) { id.rename(1, "../x") }),
	identityCase("component-name-empty", "an empty name (the schema fails too)", c("component-name"), func(id *identity) { id.rename(1, "") }),
	identityCase("component-name-case", "two names that differ only in case", c("component-name"), func(id *identity) { id.rename(1, "MODEL.json") }),
	identityCase("component-name-device", "a Windows device name with a superscript digit", c("component-name"), func(id *identity) { id.rename(1, "input/COM¹.txt") }),
	identityCase("component-order", "the input before the model", c("component-order"), func(id *identity) {
		l, d := id.layers(), id.components()
		l[0], l[1], d[0], d[1] = l[1], l[0], d[1], d[0]
	}),
	identityCase("media-type", "the model has the media type of the tools role", c("media-type"), func(id *identity) {
		id.both(0, "mediaType", mediatype.Component(mediatype.RoleTools, mediatype.FormatJSON))
	}),
	identityCase("component-digest", "an upper-case hex digest (the schema fails too)", c("component-digest"), func(id *identity) {
		id.both(1, "digest", "sha256:"+strings.ToUpper(digest.FromBytes(inputBytes).Encoded()))
	}),
	identityCase("component-size", "a negative size (the schema fails too)", c("component-size"), func(id *identity) { id.both(1, "size", -1) }),
	identityCase("blob-digest", "the input's blob holds other bytes of the same length", c("blob-digest"), func(id *identity) {
		id.blobs[digest.FromBytes(inputBytes)] = []byte("What is 6 times 8?")
	}),
	identityCase("blob-size", "the input's blob is one byte longer", c("blob-size"), func(id *identity) {
		id.blobs[digest.FromBytes(inputBytes)] = append([]byte(nil), append(inputBytes, '\n')...)
	}),
	identityCase("blob-missing", "the input's blob is not in the layout", c("blob-missing"), func(id *identity) { delete(id.blobs, digest.FromBytes(inputBytes)) }),
	identityCase("blob-json", "the model's blob is JSON but not RFC 8785 canonical", c("blob-json"), func(id *identity) {
		b := []byte(`{"provider":"example","name":"example-model"}`)
		id.blobs[digest.FromBytes(b)] = b
		id.both(0, "digest", digest.FromBytes(b).String())
		id.both(0, "size", len(b))
	}),
	identityCase("blob-json-not-json", "the model's blob is not JSON", c("blob-json"), func(id *identity) {
		b := []byte(`name: example-model`)
		id.blobs[digest.FromBytes(b)] = b
		id.both(0, "digest", digest.FromBytes(b).String())
		id.both(0, "size", len(b))
	}),
	{name: "withheld-valid", description: "the input is withheld: its layer is a commitment document", kind: KindIdentity, checks: c(),
		build: func(l *layout) map[string][]byte { newIdentity(true).write(l, tag); return nil }},
	{name: "withheld-commitment", description: "a commitment document that is not canonical JSON", kind: KindIdentity, checks: c("withheld-commitment"),
		build: func(l *layout) map[string][]byte {
			id := newIdentity(true)
			b := append(commitment(inputBytes, inputType), '\n')
			id.blobs = map[digest.Digest][]byte{digest.FromBytes(modelBytes): modelBytes, digest.FromBytes(b): b}
			id.both(1, "digest", digest.FromBytes(b).String())
			id.both(1, "size", len(b))
			id.write(l, tag)
			return nil
		}},
	{name: "withheld-commitment-media-type", description: "a commitment to a media type of another role", kind: KindIdentity, checks: c("withheld-commitment"),
		build: func(l *layout) map[string][]byte {
			id := newIdentity(true)
			b := commitment(inputBytes, mediatype.Component(mediatype.RoleTools, mediatype.FormatJSON))
			id.blobs = map[digest.Digest][]byte{digest.FromBytes(modelBytes): modelBytes, digest.FromBytes(b): b}
			id.both(1, "digest", digest.FromBytes(b).String())
			id.both(1, "size", len(b))
			id.write(l, tag)
			return nil
		}},
	{name: "reveal-valid", description: "a reveal and the withheld content", kind: KindIdentity, checks: c(),
		build: func(l *layout) map[string][]byte {
			id := newIdentity(true)
			id.write(l, tag)
			layer := digest.Digest(id.component(1)["digest"].(string))
			return map[string][]byte{"reveal.json": reveal(inputBytes, inputType, layer), "component": inputBytes}
		}},
	{name: "reveal", description: "a reveal with other content than the withheld component", kind: KindIdentity, checks: c("reveal"),
		build: func(l *layout) map[string][]byte {
			id := newIdentity(true)
			id.write(l, tag)
			layer := digest.Digest(id.component(1)["digest"].(string))
			return map[string][]byte{"reveal.json": reveal(inputBytes, inputType, layer), "component": []byte("What is 6 times 8?")}
		}},
	{name: "signature-tag", description: "a cosign tag-format signature by the key", kind: KindIdentity, key: true, checks: c(),
		build: func(l *layout) map[string][]byte {
			signWith(l, newIdentity(false).write(l, tag), loadKey(testKeyPEM), sign.SignatureFormatTag)
			return nil
		}},
	{name: "signature-bundle", description: "a Sigstore bundle referrer signed by the key", kind: KindIdentity, key: true, checks: c(),
		build: func(l *layout) map[string][]byte {
			signWith(l, newIdentity(false).write(l, tag), loadKey(testKeyPEM), sign.SignatureFormatBundle)
			return nil
		}},
	{name: "signature-count", description: "no signature at all", kind: KindIdentity, key: true, checks: c("signature-count"),
		build: func(l *layout) map[string][]byte { newIdentity(false).write(l, tag); return nil }},
	{name: "signature-other-key", description: "signatures by another key only, in both formats", kind: KindIdentity, key: true, checks: c("signature"),
		build: func(l *layout) map[string][]byte {
			desc := newIdentity(false).write(l, tag)
			signWith(l, desc, loadKey(otherKeyPEM), sign.SignatureFormatTag)
			signWith(l, desc, loadKey(otherKeyPEM), sign.SignatureFormatBundle)
			return nil
		}},
	{name: "signature-moved", description: "the tag-format signature of another identity, copied under this one's signature tag", kind: KindIdentity, key: true, checks: c("signature"),
		build: func(l *layout) map[string][]byte {
			od := newLayout()
			otherDesc := newIdentity(true).write(od, "other")
			signWith(od, otherDesc, loadKey(testKeyPEM), sign.SignatureFormatTag)
			desc := newIdentity(false).write(l, tag)
			sigTag := "sha256-" + desc.Digest.Encoded() + ".sig"
			for _, e := range od.index[1:] {
				for d, b := range od.blobs {
					l.blobs[d] = b
				}
				e.Annotations = nil
				l.list(e, sigTag)
			}
			return nil
		}},
}
