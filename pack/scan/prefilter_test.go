package scan_test

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
)

// prefilterTraps are credentials written as only the regular expressions'
// own rules allow, which a prefilter that looks for fixed spellings would
// skip: a case-insensitive keyword in mixed case, a form feed or carriage
// return where \s is allowed, and the two non-ASCII letters that Go's
// case-insensitive matching folds onto k and s (U+212A, U+017F).
func prefilterTraps() []testutil.FakeSecret {
	bearer := testutil.Repeat("Zm9vYmFy", 3) + "42"
	awsSecret := "wJal" + "rXUtnFEMI/K7MDENG/bPxRfiCY" + "Q3EGRX7HZ5"
	kelvin := testutil.Repeat("Ab3d", 20) + "\u212a\u212a\u212a\u212a" // 84 letters and digits, four of them U+212A
	return []testutil.FakeSecret{
		{Kind: scan.SecretBearerToken, Secret: bearer, Line: "Authorization: bEaReR " + bearer},
		{Kind: scan.SecretBearerToken, Secret: bearer, Line: "auth=BeaRER\t" + bearer},
		{Kind: scan.SecretBearerToken, Secret: bearer, Line: "authorization: bearer " + bearer},
		{Kind: scan.SecretBearerToken, Secret: bearer, Line: "beareR " + bearer},
		{Kind: scan.SecretBearerToken, Secret: bearer, Line: "x bearEr " + bearer},
		{Kind: scan.SecretBearerToken, Secret: bearer, Line: "(beArer " + bearer + ")"},
		{Kind: scan.SecretBearerToken, Secret: bearer, Line: "BEARER " + bearer},
		{Kind: scan.SecretAWSSecretAccessKey, Secret: awsSecret, Line: "aws_secret_access_key:\f" + awsSecret},
		{Kind: scan.SecretAWSSecretAccessKey, Secret: awsSecret, Line: "AWS_SECRET_KEY \r= '" + awsSecret + "'"},
		{Kind: scan.SecretAWSSecretAccessKey, Secret: awsSecret, Line: "aws-secret:" + awsSecret[:20] + "\u017f" + awsSecret[21:]},
		{Kind: scan.SecretConnectionPassword, Secret: "hunter2-Str0ng", Line: "Server=db;pwd_hint=x;pa\u017f\u017fword=hunter2-Str0ng"},
		{Kind: scan.SecretConnectionPassword, Secret: "hunter2-Str0ng", Line: "Host=db PWD\t=\thunter2-Str0ng"},
		{Kind: scan.SecretAzureOpenAIKey, Secret: kelvin, Line: "AZURE_OPENAI_KEY=" + kelvin},
		{Kind: scan.SecretConnectionPassword, Secret: "hunter2-Str0ng", Line: "mysql://root:hunter2-Str0ng@10.0.0.1/db"},
	}
}

// TestPrefilterFindsWhatRegexpsFind: the prefilter changes what is read,
// never what is found. Over text of every kind a corpus holds (prose,
// code, JSON lines), with every fake credential and every trap planted as
// a whole line, inside lines, astride block boundaries and inside lines
// longer than a block, Reader finds exactly what the detectors find when
// they run on every line.
func TestPrefilterFindsWhatRegexpsFind(t *testing.T) {
	secrets := append(testutil.FakeSecrets(), prefilterTraps()...)
	r := rand.New(rand.NewPCG(20, 20))
	filler := map[string][][]byte{}
	for _, kind := range []string{"prose", "code", "jsonl"} {
		filler[kind] = bytes.Split(scan.BenchText(kind, 1<<20), []byte("\n"))
	}
	fillerLine := func() []byte {
		lines := filler[[]string{"prose", "code", "jsonl"}[r.IntN(3)]]
		return lines[r.IntN(len(lines)-1)]
	}
	var text []byte
	planted := map[scan.SecretKind]bool{}
	next := r.IntN(len(secrets))
	plant := func() []byte { // each credential in turn
		s := secrets[next%len(secrets)]
		next++
		planted[s.Kind] = true
		return []byte(s.Line)
	}
	longLines := 0
	for len(text) < 6*scan.ScanBlock {
		edge := scan.ScanBlock - len(text)%scan.ScanBlock // bytes to the next block boundary
		switch {
		case edge < 400:
			// A credential line that starts just before a block
			// boundary, or just after it.
			if r.IntN(2) == 0 {
				text = append(text, bytes.Repeat([]byte("x"), edge-1)...)
				text = append(text, '\n')
			}
			text = append(text, plant()...)
		case longLines < 2 && r.IntN(2000) == 0:
			longLines++
			// A line longer than a block, with credentials at window and
			// block boundaries.
			long := make([]byte, 0, 3*scan.ScanBlock/2)
			for len(long) < cap(long)-1000 {
				if k := len(long) % (scan.ScanChunk - scan.ScanOverlap); k > scan.ScanChunk-scan.ScanOverlap-200 && r.IntN(3) == 0 {
					long = append(long, ' ')
					long = append(long, plant()...)
					long = append(long, ' ')
				}
				long = append(long, bytes.TrimSpace(fillerLine())...)
				long = append(long, ' ')
			}
			text = append(text, long...)
		case r.IntN(20) == 0:
			line := fillerLine()
			at := r.IntN(len(line) + 1)
			text = append(text, line[:at]...)
			text = append(text, ' ')
			text = append(text, plant()...)
			text = append(text, ' ')
			text = append(text, line[at:]...)
		default:
			text = append(text, fillerLine()...)
		}
		text = append(text, '\n')
	}
	for _, s := range secrets {
		if !planted[s.Kind] {
			t.Fatalf("no %s planted: the corpus is too small", s.Kind)
		}
	}

	got, err := scan.Reader(bytes.NewReader(text), "corpus.txt", mediatype.FormatText)
	if err != nil {
		t.Fatal(err)
	}
	want, err := scan.RegexpsOnEveryLine(bytes.NewReader(text), "corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	order := func(a, b scan.Finding) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Kind, b.Kind)) }
	slices.SortFunc(got, order)
	slices.SortFunc(want, order)
	if !slices.Equal(got, want) {
		lines := strings.Split(string(text), "\n")
		show := func(f scan.Finding) string {
			l := lines[f.Line-1]
			return fmt.Sprintf("%v (%d bytes: %.80q)", f, len(l), l)
		}
		for _, f := range want {
			if !slices.Contains(got, f) {
				t.Errorf("the prefilter lost %s", show(f))
			}
		}
		for _, f := range got {
			if !slices.Contains(want, f) {
				t.Errorf("found only with the prefilter: %s", show(f))
			}
		}
	}
	kinds := map[scan.SecretKind]bool{}
	for _, f := range want {
		kinds[f.Kind] = true
	}
	for _, k := range scan.SecretKinds() {
		if !kinds[k] {
			t.Errorf("no %s found in the corpus", k)
		}
	}
	t.Logf("%d bytes, %d lines, %d findings", len(text), bytes.Count(text, []byte("\n")), len(want))
}

// TestPrefilterPieces: a block is searched in pieces that end at line
// ends; lines shorter and longer than a piece, with every trap at their
// start and end or astride the end of the first piece, give what the
// detectors give on every line.
func TestPrefilterPieces(t *testing.T) {
	filler := scan.BenchText("prose", 1<<20)
	filler = bytes.ReplaceAll(filler, []byte("\n"), []byte(" "))
	// A first line of 40 KiB with each trap astride byte 32 KiB, where a
	// piece would end if it did not end at a line end.
	var text []byte
	for _, s := range prefilterTraps() {
		text = append(text, filler[:32<<10-len(s.Line)/2]...)
		text = append(text, s.Line...)
		text = append(text, ' ')
		text = append(text, filler[:8<<10]...)
		text = append(text, '\n')
	}
	for i, s := range prefilterTraps() {
		for _, size := range []int{100, 20 << 10, 40 << 10, 70 << 10, 300 << 10} {
			at := (i * 7919) % (len(filler) - size)
			text = append(text, s.Line...)
			text = append(text, ' ')
			text = append(text, filler[at:at+size]...)
			text = append(text, ' ')
			text = append(text, s.Line...)
			text = append(text, '\n')
		}
	}
	got, err := scan.Reader(bytes.NewReader(text), "pieces.txt", mediatype.FormatText)
	if err != nil {
		t.Fatal(err)
	}
	want, err := scan.RegexpsOnEveryLine(bytes.NewReader(text), "pieces.txt")
	if err != nil {
		t.Fatal(err)
	}
	order := func(a, b scan.Finding) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Kind, b.Kind)) }
	slices.SortFunc(got, order)
	slices.SortFunc(want, order)
	if len(want) < 70 || !slices.Equal(got, want) { // 13 of the 14 traps, on each of 5 lines and the first one
		t.Errorf("with the prefilter: %v\non every line: %v", got, want)
	}
}
