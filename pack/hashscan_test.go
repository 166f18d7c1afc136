package pack_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/scan"
	"github.com/runid/runid-oci/spec"
)

// hashScanRun writes a run whose context is text files: a clean one of
// 3 MiB, one of 3 MiB with credentials on either side of each 1 MiB read
// of the hasher (and on its last line, with no newline), a small one with
// one credential on line 2, and a withheld one with a credential. It
// returns the declaration.
func hashScanRun(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	secrets := testutil.FakeSecrets()
	clean := bytes.Repeat([]byte("the bearer of news: a line of prose, key = value, ab-cd_ef\n"), 3<<20/60)
	writeFile(t, filepath.Join(dir, "clean.txt"), clean)
	var big []byte
	for i := range 3 {
		big = append(big, bytes.Repeat([]byte("x"), (i+1)<<20-len(big)-len(secrets[i].Line)/2)...)
		big = append(big, '\n')
		big = append(big, secrets[i].Line...) // astride the end of read i+1
		big = append(big, '\n')
	}
	big = append(big, secrets[3].Line...)
	writeFile(t, filepath.Join(dir, "big.txt"), big)
	writeFile(t, filepath.Join(dir, "small.txt"), []byte("hello\n"+secrets[4].Line+"\n"))
	writeFile(t, filepath.Join(dir, "hidden.txt"), []byte(secrets[5].Line+"\n"))
	decl := filepath.Join(dir, "runid.yaml")
	writeFile(t, decl, []byte(`runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: none
  system-prompt: none
  tools: none
  context:
    - {name: clean.txt, file: clean.txt}
    - {name: big.txt, file: big.txt}
    - {name: small.txt, file: small.txt}
    - {name: hidden.txt, file: hidden.txt, withheld: true}
  input: [{name: q.txt, text: "Hello"}]
  config: none
  runtime: none
`))
	return decl
}

// TestBuildScansWhileHashing: with ScanCredentials, Build scans text files
// from the reads that hash them, and Scan and Push use those findings
// without reading the files again: they are the findings a scan of the
// files finds, and the files may be gone by then.
func TestBuildScansWhileHashing(t *testing.T) {
	decl := hashScanRun(t)
	secret := testutil.Repeat("s", 32)
	plain, c, want := loadBothWays(t, decl, pack.BuildOptions{WithholdSecret: []byte(secret)}, 5) // 4 in big.txt, 1 in small.txt
	for _, name := range []string{"clean.txt", "big.txt", "small.txt", "hidden.txt"} {
		if err := os.Remove(filepath.Join(filepath.Dir(decl), name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pack.Scan(t.Context(), plain, scan.Options{}); !errors.Is(err, pack.ErrComponentFile) {
		t.Fatalf("a scan of removed files without ScanCredentials: %v, want ErrComponentFile", err)
	}
	got, err := pack.Scan(t.Context(), c, scan.Options{})
	if err != nil {
		t.Fatalf("scan after Build with ScanCredentials read the files again: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("scanned while hashing: %v\nscanned after: %v", got, want)
	}

	store, layout := testutil.NewLayout(t)
	_, err = pack.Push(t.Context(), store, c, pack.PushOptions{Tag: "v1"})
	var se *scan.SecretsError
	if !errors.As(err, &se) || !slices.Equal(se.Findings, want) {
		t.Fatalf("push: %v, want a *SecretsError with %v", err, want)
	}
	assertLayoutEmpty(t, layout)
}

// TestBuildScanStopsWithHashing: a text file that fails to hash (it is
// not UTF-8) fails Build with ScanCredentials exactly as without, and the
// scanner does not hold Build up.
func TestBuildScanStopsWithHashing(t *testing.T) {
	decl := hashScanRun(t)
	bad := append(bytes.Repeat([]byte("clean text\n"), 300000), 0xff, 0xfe, '\n')
	bad = append(bad, bytes.Repeat([]byte("more text\n"), 300000)...)
	writeFile(t, filepath.Join(filepath.Dir(decl), "clean.txt"), bad)
	opts := pack.BuildOptions{WithholdSecret: []byte(testutil.Repeat("s", 32))}
	_, want := pack.Load(t.Context(), decl, opts)
	if !errors.Is(want, spec.ErrInvalidFormat) {
		t.Fatalf("Build without the scan: %v, want ErrInvalidFormat", want)
	}
	opts.ScanCredentials = true
	_, err := pack.Load(t.Context(), decl, opts)
	if err == nil || err.Error() != want.Error() {
		t.Fatalf("Build with the scan: %v\nwithout: %v", err, want)
	}
	if strings.Contains(err.Error(), "scan") {
		t.Errorf("a hashing error is reported as the scan's: %v", err)
	}
}

// TestBuildScanRunesAcrossReads: the hasher hands each block it read to
// the scanner and reads on into another buffer, carrying an incomplete
// rune over; with runes of two to four bytes cut by every read, a text
// file is hashed to the digest of its bytes with the scan as without it,
// and a credential astride each read is found.
func TestBuildScanRunesAcrossReads(t *testing.T) {
	dir := t.TempDir()
	secrets := testutil.FakeSecrets()
	var text []byte
	for i := range 6 {
		// Runes of two, three and four bytes and one or two of ASCII, in
		// an order that puts each rune at every alignment; a credential
		// line; then a rune cut in two by the end of read i+1.
		for len(text) < (i+1)<<20-300 {
			text = append(text, []string{"é", "€", "😀", "x", "xy"}[len(text)%5]...)
			if len(text)%97 == 0 {
				text = append(text, '\n')
			}
		}
		text = append(text, '\n')
		text = append(text, secrets[i%3].Line...)
		text = append(text, '\n')
		text = append(text, bytes.Repeat([]byte("x"), (i+1)<<20-1-i%3-len(text))...)
		text = append(text, "😀"...)
		if utf8.RuneStart(text[(i+1)<<20]) {
			t.Fatalf("no rune astride byte %d", (i+1)<<20)
		}
	}
	if !utf8.Valid(text) {
		t.Fatal("the test text is not UTF-8")
	}
	writeFile(t, filepath.Join(dir, "runes.txt"), text)
	decl := filepath.Join(dir, "runid.yaml")
	writeFile(t, decl, []byte(`runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: none
  system-prompt: none
  tools: none
  context: [{name: runes.txt, file: runes.txt}]
  input: [{name: q.txt, text: "Hello"}]
  config: none
  runtime: none
`))
	_, c, want := loadBothWays(t, decl, pack.BuildOptions{}, 6)
	if got := c.Components[indexOf(t, c, "runes.txt")].Digest; got != digest.FromBytes(text) {
		t.Fatalf("runes.txt hashed to %s, want %s", got, digest.FromBytes(text))
	}
	got, err := pack.Scan(t.Context(), c, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("scanned while hashing: %v\nscanned after: %v", got, want)
	}
}

// loadBothWays loads decl with opts, without and with ScanCredentials,
// checks that both give the same identity and that a scan after the plain
// build finds n findings, and returns both compositions and those findings.
func loadBothWays(t *testing.T, decl string, opts pack.BuildOptions, n int) (plain, scanned *pack.Composition, want []scan.Finding) {
	t.Helper()
	opts.ScanCredentials = false
	plain, err := pack.Load(t.Context(), decl, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, err = pack.Scan(t.Context(), plain, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != n {
		t.Fatalf("a scan after Build found %v, want %d findings", want, n)
	}
	opts.ScanCredentials = true
	scanned, err = pack.Load(t.Context(), decl, opts)
	if err != nil {
		t.Fatal(err)
	}
	if scanned.Digest() != plain.Digest() {
		t.Fatalf("identity %s with the scan, %s without", scanned.Digest(), plain.Digest())
	}
	return plain, scanned, want
}

func indexOf(t *testing.T, c *pack.Composition, name string) int {
	t.Helper()
	for i, comp := range c.Components {
		if comp.Name == name {
			return i
		}
	}
	t.Fatalf("no component %s", name)
	return -1
}
