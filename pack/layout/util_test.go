package layout

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func digestOf(s string) digest.Digest { return digest.Digest(s) }

func containsDigest(ds []ocispec.Descriptor, d string) bool {
	for _, x := range ds {
		if x.Digest.String() == d {
			return true
		}
	}
	return false
}

// indexLists returns every digest the index.json of s lists, through
// its segments.
func indexLists(tb testing.TB, s *Store) map[digest.Digest]bool {
	tb.Helper()
	idx, _, err := s.readIndex()
	if err != nil {
		tb.Fatal(err)
	}
	return reachable(tb, s, idx)
}

// reachable returns every digest reachable from idx through indexes.
func reachable(tb testing.TB, s *Store, idx *ocispec.Index) map[digest.Digest]bool {
	tb.Helper()
	seen := map[digest.Digest]bool{}
	var walk func(ds []ocispec.Descriptor)
	walk = func(ds []ocispec.Descriptor) {
		for _, d := range ds {
			if seen[d.Digest] {
				continue
			}
			seen[d.Digest] = true
			if d.MediaType == ocispec.MediaTypeImageIndex {
				p, _ := s.blobPath(d.Digest)
				b, err := readCapped(p, MaxManifestSize)
				if err != nil {
					tb.Fatalf("segment %s: %v", d.Digest, err)
				}
				var child ocispec.Index
				if err := json.Unmarshal(b, &child); err != nil {
					tb.Fatal(err)
				}
				walk(child.Manifests)
			}
		}
	}
	walk(idx.Manifests)
	return seen
}

func testTime() time.Time { return time.Now().Add(-time.Hour) }

func newKey(tb testing.TB) signature.SignerVerifier {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	return sv
}
