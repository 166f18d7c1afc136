package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// The base identity of the verifier cases: a model component (json) and
// an input component (text); the other core roles are none.
var (
	modelBytes = []byte(`{"name":"example-model","provider":"example"}`)
	inputBytes = []byte("What is 6 times 7?")
	modelType  = mediatype.Component(mediatype.RoleModel, mediatype.FormatJSON)
	inputType  = mediatype.Component(mediatype.RoleInput, mediatype.FormatText)
	// withholdSecret is the public test secret of spec/vectors/withheld:
	// the 32 bytes 0x00 to 0x1f.
	withholdSecret = func() []byte {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}()
)

// identity is an identity being edited: its manifest and document as
// generic JSON trees, the component blobs, and raw edits applied to the
// encoded bytes.
type identity struct {
	manifest map[string]any
	doc      map[string]any
	blobs    map[digest.Digest][]byte
	// editDoc and editManifest rewrite the encoded bytes (for what a JSON
	// tree cannot hold: duplicate members, invalid UTF-8).
	editDoc, editManifest func([]byte) []byte
	// keepConfig leaves the config descriptor as edited instead of
	// pointing it at the document written.
	keepConfig bool
	// noDocument leaves the document out of the layout.
	noDocument bool
}

// newIdentity builds the base identity; with withheld, the input is
// withheld (its layer is the commitment document of §7.2).
func newIdentity(withheld bool) *identity {
	blobs := map[digest.Digest][]byte{}
	entry := func(role, name, mt string, b []byte) spec.ComponentEntry {
		d := digest.FromBytes(b)
		blobs[d] = b
		return spec.ComponentEntry{Role: role, Name: name, MediaType: mt, Digest: d, Size: int64(len(b))}
	}
	input := entry(mediatype.RoleInput, "input/question.txt", inputType, inputBytes)
	if withheld {
		delete(blobs, input.Digest)
		input = entry(mediatype.RoleInput, "input/question.txt", mediatype.Withheld, commitment(inputBytes, inputType))
	}
	comps := []spec.ComponentEntry{entry(mediatype.RoleModel, "model.json", modelType, modelBytes), input}
	id := must(spec.BuildIdentity(mediatype.CoreRoles(), comps))
	return &identity{manifest: tree(id.ManifestBytes), doc: tree(id.DocumentBytes), blobs: blobs}
}

// commitment is the commitment document of content under the test secret.
func commitment(content []byte, mt string) []byte {
	salt := must(spec.WithholdSalt(withholdSecret, digest.FromBytes(content)))
	h := spec.CommitmentHash(salt)
	h.Write(content)
	return must(spec.NewCommitment(mt, h.Sum(nil)))
}

// reveal is the reveal of content (§7.3) in the identity whose withheld
// layer has digest layer.
func reveal(content []byte, mt string, layer digest.Digest) []byte {
	d := digest.FromBytes(content)
	r := spec.Reveal{Role: mediatype.RoleInput, Name: "input/question.txt", MediaType: mt, ContentDigest: d, Size: int64(len(content)),
		Salt: hex.EncodeToString(must(spec.WithholdSalt(withholdSecret, d))), Commitment: layer}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func (id *identity) layers() []any     { return id.manifest["layers"].([]any) }
func (id *identity) components() []any { return id.doc["components"].([]any) }

// layer and component are the i-th layer and document entry (0 model, 1 input).
func (id *identity) layer(i int) map[string]any     { return id.layers()[i].(map[string]any) }
func (id *identity) component(i int) map[string]any { return id.components()[i].(map[string]any) }
func (id *identity) config() map[string]any         { return id.manifest["config"].(map[string]any) }
func (id *identity) roles() map[string]any          { return id.doc["roles"].(map[string]any) }

// both sets a member of the i-th layer and of the i-th document entry.
func (id *identity) both(i int, member string, v any) {
	id.layer(i)[member] = v
	id.component(i)[member] = v
}

// rename gives the i-th component another logical name.
func (id *identity) rename(i int, name string) {
	id.component(i)["name"] = name
	id.layer(i)["annotations"].(map[string]any)[mediatype.AnnotationTitle] = name
}

// write adds the identity to l, tagged, and returns its descriptor.
func (id *identity) write(l *layout, tag string) ocispec.Descriptor {
	docBytes := mustCanonical(id.doc)
	if id.editDoc != nil {
		docBytes = id.editDoc(docBytes)
	}
	if !id.noDocument {
		l.blobs[digest.FromBytes(docBytes)] = docBytes
	}
	if !id.keepConfig {
		id.config()["digest"], id.config()["size"] = digest.FromBytes(docBytes).String(), len(docBytes)
	}
	for d, b := range id.blobs {
		l.blobs[d] = b
	}
	mBytes := mustCanonical(id.manifest)
	if id.editManifest != nil {
		mBytes = id.editManifest(mBytes)
	}
	return l.manifest(mBytes, tag)
}

// replaceOnce replaces the first old in b, which must be there.
func replaceOnce(old, new string) func([]byte) []byte {
	return func(b []byte) []byte {
		if !bytes.Contains(b, []byte(old)) {
			panic("conformancegen: " + old + " not found")
		}
		return []byte(strings.Replace(string(b), old, new, 1))
	}
}
