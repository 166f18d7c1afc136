package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/runid/runid-oci/spec"
)

// layout is an OCI image layout in memory: blobs by digest (a blob's bytes
// may deliberately differ from its name) and the entries of index.json in
// order. It is written byte for byte the same every time.
type layout struct {
	blobs map[digest.Digest][]byte
	index []ocispec.Descriptor
}

func newLayout() *layout { return &layout{blobs: map[digest.Digest][]byte{}} }

// add stores b under its digest and returns its descriptor.
func (l *layout) add(mediaType string, b []byte) ocispec.Descriptor {
	d := digest.FromBytes(b)
	l.blobs[d] = b
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

// manifest stores manifest bytes and lists them in index.json, tagged
// when tag is not empty.
func (l *layout) manifest(b []byte, tag string) ocispec.Descriptor {
	desc := l.add(ocispec.MediaTypeImageManifest, b)
	l.list(desc, tag)
	return desc
}

// list adds an index.json entry (as given: it may lie about the blob).
func (l *layout) list(desc ocispec.Descriptor, tag string) {
	if tag != "" {
		desc.Annotations = map[string]string{ocispec.AnnotationRefName: tag}
	}
	l.index = append(l.index, desc)
}

// files renders the layout below dir.
func (l *layout) files(dir string, out map[string][]byte) {
	out[dir+"/oci-layout"] = []byte(`{"imageLayoutVersion":"1.0.0"}`)
	idx := map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageIndex, "manifests": l.index}
	out[dir+"/index.json"] = mustCanonical(idx)
	for _, d := range slices.Sorted(maps.Keys(l.blobs)) {
		out[dir+"/blobs/"+string(d.Algorithm())+"/"+d.Encoded()] = l.blobs[d]
	}
}

// tarEpoch is the modification time of every entry of a layout tar, so
// that the tar is the same bytes every time.
var tarEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// tar renders the layout as an OCI image layout tar file: its files in
// lexical order, directories first, owned by root, at tarEpoch.
func (l *layout) tar() []byte {
	files := map[string][]byte{}
	l.files(".", files)
	names := slices.Sorted(maps.Keys(files))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		must(0, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: tarEpoch, Format: tar.FormatPAX}))
	}
	for _, n := range names {
		name := strings.TrimPrefix(n, "./")
		if strings.HasPrefix(name, "blobs/") && !strings.HasPrefix(name, "blobs/sha256/") {
			panic("conformancegen: a layout tar holds sha256 blobs only: " + name)
		}
		must(0, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(files[n])), ModTime: tarEpoch, Format: tar.FormatPAX}))
		must(tw.Write(files[n]))
	}
	must(0, tw.Close())
	return buf.Bytes()
}

// mustCanonical is the RFC 8785 form of v.
func mustCanonical(v any) []byte {
	b, err := spec.MarshalCanonical(v)
	if err != nil {
		panic(err)
	}
	return b
}

// tree decodes JSON into a generic tree, for edits.
func tree(b []byte) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("conformancegen: %v", err))
	}
	return v
}
