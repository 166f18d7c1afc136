package pack

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/internal/benchenv"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// benchMiB is the size of each of the eight files of BenchmarkDigest, in
// MiB: RUNID_BENCH_MIB, default 4 (32 MiB in all). RUNID_BENCH_MIB=128
// makes it 1 GiB.
func benchMiB(b *testing.B) int { return benchenv.MiB(b, 4) }

// benchFile writes size bytes of pseudo-random printable ASCII (valid as
// text and as binary) to path.
func benchFile(b *testing.B, path string, size int, seed uint64) {
	b.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	chunk := make([]byte, 1<<20)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for size > 0 {
		n := min(size, len(chunk))
		for i := range chunk[:n] {
			chunk[i] = byte(' ' + r.IntN(95))
		}
		if _, err := f.Write(chunk[:n]); err != nil {
			b.Fatal(err)
		}
		size -= n
	}
}

// BenchmarkDigest hashes a declaration of eight large context files (see
// benchMiB), as binary and as text (which adds UTF-8 validation). The
// files are in the page cache after the first iteration, so this measures
// hashing, not the disk.
func BenchmarkDigest(b *testing.B) {
	mib := benchMiB(b)
	dir := b.TempDir()
	var list strings.Builder
	for i := range 8 {
		name := fmt.Sprintf("doc-%d", i)
		benchFile(b, filepath.Join(dir, name), mib<<20, uint64(i))
		fmt.Fprintf(&list, "    - name: context/%s.FORMAT\n      file: %s\n      format: FORMAT\n", name, name)
	}
	for _, format := range []string{mediatype.FormatBinary, mediatype.FormatText} {
		decl := filepath.Join(dir, format+".yaml")
		text := `runid: "1"
roles:
  model: { provider: example, name: m }
  parameters: none
  system-prompt: none
  tools: none
  context:
` + strings.ReplaceAll(list.String(), "FORMAT", format) + `  input: none
  config: none
  runtime: none
`
		if err := os.WriteFile(decl, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/8x%dMiB", format, mib), func(b *testing.B) {
			b.SetBytes(8 * int64(mib) << 20)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Digest(context.Background(), decl, BuildOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchJSON returns a JSON text of about size bytes: an array of tool-like
// objects with strings, numbers, nesting and escapes, keys unsorted.
func benchJSON(size int) []byte {
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i := 0; buf.Len() < size; i++ {
		if i > 0 {
			buf.WriteString(",\n")
		}
		fmt.Fprintf(&buf, `  {"type": "function", "id": %d, "score": %g, "function": {"name": "tool_%d", `+
			`"description": "Looks up \"item\" %d — café, 東京, \u00e9\t", "parameters": {"type": "object", `+
			`"properties": {"q": {"type": "string", "maxLength": %d}, "n": {"type": "integer", "minimum": 1e0}}, `+
			`"required": ["q"]}}, "enabled": %t, "extra": null}`, i, float64(i)/7, i, i, i%500, i%2 == 0)
	}
	buf.WriteString("\n]\n")
	return buf.Bytes()
}

// BenchmarkCanonicalize1MiB canonicalizes (RFC 8785) a 1 MiB JSON document,
// as Load does for every json component.
func BenchmarkCanonicalize1MiB(b *testing.B) {
	data := benchJSON(1 << 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := spec.Canonicalize(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildIdentity10000 builds (and, as BuildIdentity always does,
// re-parses and checks) the identity of 10,000 components.
func BenchmarkBuildIdentity10000(b *testing.B) {
	const n = 10000
	comps := make([]spec.ComponentEntry, n)
	for i := range comps {
		data := []byte(strconv.Itoa(i))
		comps[i] = spec.ComponentEntry{
			Role:      mediatype.RoleContext,
			Name:      fmt.Sprintf("context/doc-%05d.md", i),
			MediaType: mediatype.Component(mediatype.RoleContext, mediatype.FormatText),
			Digest:    digest.FromBytes(data),
			Size:      int64(len(data)),
		}
	}
	roles := mediatype.CoreRoles()
	b.ReportAllocs()
	for b.Loop() {
		id, err := spec.BuildIdentity(roles, comps)
		if err != nil {
			b.Fatal(err)
		}
		if len(id.Manifest.Layers) != n {
			b.Fatalf("%d layers", len(id.Manifest.Layers))
		}
	}
}

// BenchmarkBuild10000 builds a parsed declaration of 10,000 text
// components: hashing, ordering, and the identity.
func BenchmarkBuild10000(b *testing.B) {
	var text strings.Builder
	text.WriteString("runid: \"1\"\nroles:\n  model: { provider: example, name: m }\n  parameters: none\n  system-prompt: none\n  tools: none\n  context:\n")
	for i := range 10000 {
		fmt.Fprintf(&text, "    - name: context/doc-%05d.md\n      text: \"document %d\"\n", i, i)
	}
	text.WriteString("  input: none\n  config: none\n  runtime: none\n")
	decl, err := spec.ParseDeclaration("bench.yaml", []byte(text.String()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(context.Background(), decl, "", BuildOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashStream measures the streaming hash of Load, with and without
// the UTF-8 check of text components.
func BenchmarkHashStream(b *testing.B) {
	data := bytes.Repeat([]byte("Refunds are paid within 2 business days — café 東京 😀.\n"), (16<<20)/64)
	for _, text := range []bool{false, true} {
		name := "binary"
		if text {
			name = "text"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, n, err := hashStream(bytes.NewReader(data), text, int64(len(data)), nil); err != nil || n != int64(len(data)) {
					b.Fatalf("hashStream: %d bytes, %v", n, err)
				}
			}
		})
	}
}
