package spec_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

func commit(t *testing.T, secret, content []byte, mt string) ([]byte, spec.Reveal) {
	t.Helper()
	d := digest.FromBytes(content)
	salt, err := spec.WithholdSalt(secret, d)
	if err != nil {
		t.Fatal(err)
	}
	h := spec.CommitmentHash(salt)
	h.Write(content)
	doc, err := spec.NewCommitment(mt, h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return doc, spec.Reveal{Role: mediatype.RoleSystemPrompt, Name: "system.md", MediaType: mt,
		ContentDigest: d, Size: int64(len(content)), Salt: hexs(salt), Commitment: digest.FromBytes(doc)}
}

func hexs(b []byte) string {
	const h = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(h[c>>4])
		s.WriteByte(h[c&15])
	}
	return s.String()
}

func TestWithheldCommitment(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	mt := mediatype.Component(mediatype.RoleSystemPrompt, mediatype.FormatText)
	content := []byte("You are a helpful assistant.")
	doc1, rv := commit(t, secret, content, mt)
	doc2, _ := commit(t, secret, content, mt)
	if !bytes.Equal(doc1, doc2) {
		t.Fatal("same content and secret must give the same commitment")
	}
	doc3, _ := commit(t, other, content, mt)
	if bytes.Equal(doc1, doc3) {
		t.Fatal("another secret must give another commitment")
	}
	if bytes.Contains(doc1, content) {
		t.Fatal("commitment contains the content")
	}
	if _, err := spec.ParseCommitment(doc1); err != nil {
		t.Fatal(err)
	}
	if err := spec.CheckReveal(doc1, rv, bytes.NewReader(content)); err != nil {
		t.Fatalf("reveal of the right content: %v", err)
	}
	tests := []struct {
		name    string
		content []byte
		mutate  func(*spec.Reveal)
	}{
		{"other content", []byte("You are a helpful assistant!"), nil},
		{"bad salt", content, func(r *spec.Reveal) { r.Salt = "zz" }},
		{"other salt", content, func(r *spec.Reveal) { r.Salt = hexs(make([]byte, 32)) }},
		{"wrong size", content, func(r *spec.Reveal) { r.Size = 3 }},
		{"wrong media type", content, func(r *spec.Reveal) { r.MediaType = "text/plain" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rv
			if tc.mutate != nil {
				tc.mutate(&r)
			}
			if err := spec.CheckReveal(doc1, r, bytes.NewReader(tc.content)); !errors.Is(err, spec.ErrCommitment) {
				t.Fatalf("got %v, want ErrCommitment", err)
			}
		})
	}
	if _, err := spec.WithholdSalt(secret[:16], digest.FromBytes(content)); !errors.Is(err, spec.ErrCommitment) {
		t.Fatalf("short secret: got %v", err)
	}
	c, _ := spec.ParseCommitment(doc1)
	if err := spec.CheckCommitmentRole(mediatype.RoleSystemPrompt, c); err != nil {
		t.Fatal(err)
	}
	if err := spec.CheckCommitmentRole(mediatype.RoleTools, c); !errors.Is(err, spec.ErrCommitment) {
		t.Fatalf("text commitment in tools role: got %v", err)
	}
	for _, bad := range []string{`{}`, `{"algorithm":"sha1","commitment":"00","mediaType":"x"}`, `not json`} {
		if _, err := spec.ParseCommitment([]byte(bad)); !errors.Is(err, spec.ErrCommitment) {
			t.Errorf("ParseCommitment(%s): got %v", bad, err)
		}
	}
}
