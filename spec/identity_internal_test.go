package spec

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
)

// The sorted copies that BuildIdentity encodes are written canonically by
// encoding/json (so Canonicalize need not transform them) and mean the
// same JSON as the originals.
func TestSortedEncodingIsCanonical(t *testing.T) {
	comps := []ComponentEntry{
		{Role: "model", Name: "model.json", MediaType: mediatype.Component("model", "json"), Digest: digest.FromString("m"), Size: 12},
		{Role: "context", Name: "docs/ä & b.md", MediaType: mediatype.Component("context", "text"), Digest: digest.FromString("a"), Size: 1},
		{Role: "com.example.x", Name: "x.txt", MediaType: mediatype.Withheld, Digest: digest.FromString("x"), Size: 1 << 40},
	}
	id, err := BuildIdentity(append(mediatype.CoreRoles(), "com.example.x"), comps)
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]any{
		"document": {sortedDocument(id.Document), id.Document},
		"manifest": {sortedManifest(id.Manifest), id.Manifest},
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(pair[0]); err != nil {
			t.Fatal(err)
		}
		sorted := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		canon, err := Canonicalize(sorted)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sorted, canon) {
			t.Errorf("%s: sorted encoding is not canonical:\n%s\n%s", name, sorted, canon)
		}
		plain, err := MarshalCanonical(pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, canon) {
			t.Errorf("%s: sorted copy means other JSON:\n%s\n%s", name, canon, plain)
		}
	}
}
