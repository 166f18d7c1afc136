package scan

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/internal/benchenv"
	"github.com/runid/runid-oci/mediatype"
)

// benchMiB is the size of the text of BenchmarkScanText, in MiB:
// RUNID_BENCH_MIB, default 4.
func benchMiB(b *testing.B) int { return benchenv.MiB(b, 4) }

// scanBenchKinds are the kinds of text that scanBenchText makes.
var scanBenchKinds = []string{"letters", "prose", "code", "jsonl"}

// scanBenchText returns size bytes of text of one of these kinds:
// "letters", lower-case letters and spaces in lines of 72 (what go run
// ./bench pushes); "prose", sentences of words with capitals, digits,
// punctuation, hyphens, snake_case names and the odd URL (what a corpus of
// documents and transcripts holds), in lines of up to 100 bytes; "code",
// source lines full of assignments, calls, snake_case names, colons and
// the odd URL in a comment; "jsonl", one chat message a line as a JSON
// object (member names with underscores, timestamps, ids, prose values).
// None holds a credential.
func scanBenchText(kind string, size int) []byte {
	r := rand.New(rand.NewPCG(7, 7))
	out := make([]byte, 0, size+1024)
	switch kind {
	case "code":
		return scanBenchCode(r, out, size)
	case "jsonl":
		return scanBenchJSONL(r, out, size)
	}
	if kind == "letters" {
		for len(out) < size {
			for range 72 {
				out = append(out, "abcdefghijklmnopqrstuvwxyz "[r.IntN(27)])
			}
			out = append(out, '\n')
		}
		return out[:size]
	}
	// Common words, and now and then what prose holds besides: numbers,
	// dates, hyphenated words, names in snake_case, a colon, a URL.
	words := scanBenchWords
	extras := strings.Fields("2024 3.5 17% 1,200 well-known follow-up max_tokens top_p Note: " +
		"https://example.com/paper (see below), Q&A \"quoted\" Monday. The It We")
	col := 0
	for len(out) < size {
		w := words[r.IntN(len(words))]
		if r.IntN(20) == 0 {
			w = extras[r.IntN(len(extras))]
		}
		if col+len(w) > 99 {
			out = append(out, '\n')
			col = 0
		}
		out = append(out, w...)
		out = append(out, ' ')
		col += len(w) + 1
	}
	return out[:size]
}

// scanBenchWords are common English words, for prose, comments and
// message contents.
var scanBenchWords = strings.Fields("the of and to in is was for on that with as by it at from this be are " +
	"an which or have has not but were their its had also more one all been than other " +
	"model models data results training system we our these they used using each when " +
	"report summary question answer time first new two may between after such both over")

func scanBenchSentence(r *rand.Rand, out []byte, words int) []byte {
	for i := range words {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, scanBenchWords[r.IntN(len(scanBenchWords))]...)
	}
	return out
}

func scanBenchCode(r *rand.Rand, out []byte, size int) []byte {
	names := strings.Fields("ctx err buf max_tokens top_p user_id request_id n i out cfg opts result " +
		"self.model self.client response_body retry_count api_base temperature")
	calls := strings.Fields("fmt.Errorf json.Marshal os.Open strings.TrimSpace self.send len append " +
		"client.chat.completions.create bytes.Index http.NewRequest")
	for len(out) < size {
		indent := r.IntN(4) * 4
		for range indent {
			out = append(out, ' ')
		}
		a, b := names[r.IntN(len(names))], names[r.IntN(len(names))]
		switch r.IntN(8) {
		case 0:
			out = append(out, "# "...)
			out = scanBenchSentence(r, out, 4+r.IntN(8))
			if r.IntN(4) == 0 {
				out = append(out, " (see https://docs.example.org/api/v2#section-3)"...)
			}
		case 1:
			out = append(out, "if "+a+" != nil {"...)
		case 2:
			out = append(out, "return "+a+", "+calls[r.IntN(len(calls))]+"(\"read %s: %w\", "+b+", err)"...)
		case 3:
			out = append(out, "def handle_"+a[:min(3, len(a))]+"(self, "+b+": int = 10) -> dict:"...)
		case 4:
			out = append(out, "} else if "+a+" >= "+strconv.Itoa(r.IntN(4096))+" && "+b+" <= -1 {"...)
		default:
			out = append(out, a+" = "+calls[r.IntN(len(calls))]+"("+b+", key=\""+a+"\", n="+strconv.Itoa(r.IntN(100))+")"...)
		}
		out = append(out, '\n')
	}
	return out[:size]
}

func scanBenchJSONL(r *rand.Rand, out []byte, size int) []byte {
	roles := []string{"user", "assistant", "system", "tool"}
	for n := 0; len(out) < size; n++ {
		out = append(out, `{"id": "msg_`...)
		out = strconv.AppendInt(out, int64(1e9+n), 16)
		out = append(out, `", "role": "`...)
		out = append(out, roles[r.IntN(len(roles))]...)
		out = append(out, `", "created_at": "2026-03-`...)
		out = strconv.AppendInt(out, int64(10+r.IntN(18)), 10)
		out = append(out, `T12:34:56Z", "content": "`...)
		out = scanBenchSentence(r, out, 8+r.IntN(40))
		out = append(out, `", "usage": {"prompt_tokens": `...)
		out = strconv.AppendInt(out, int64(r.IntN(9000)), 10)
		out = append(out, `, "completion_tokens": `...)
		out = strconv.AppendInt(out, int64(r.IntN(900)), 10)
		out = append(out, `}, "model": "gpt-4o-mini-2024-07-18", "finish_reason": "stop"}`+"\n"...)
	}
	return out[:size]
}

// BenchmarkScanText measures the credential scan of a text component
// (RUNID_BENCH_MIB MiB, default 4), next to SHA-256 of the same bytes.
func BenchmarkScanText(b *testing.B) {
	size := benchMiB(b) << 20
	for _, kind := range scanBenchKinds {
		// Made when a benchmark of this kind runs, not for those -bench
		// leaves out.
		var text []byte
		get := func() []byte {
			if text == nil {
				text = scanBenchText(kind, size)
			}
			return text
		}
		b.Run(kind+"/scan", func(b *testing.B) {
			text := get()
			b.SetBytes(int64(len(text)))
			defer reportCPUSpeed(b, len(text))()
			for b.Loop() {
				fs, err := Reader(bytes.NewReader(text), "t.txt", mediatype.FormatText)
				if err != nil || len(fs) != 0 {
					b.Fatal(err, fs)
				}
			}
		})
		b.Run(kind+"/sha256", func(b *testing.B) {
			text := get()
			b.SetBytes(int64(len(text)))
			defer reportCPUSpeed(b, len(text))()
			for b.Loop() {
				digest.FromBytes(text)
			}
		})
	}
}

// reportCPUSpeed reports, when the returned function is called after the
// benchmark's loop, the bytes processed per second of the thread's CPU
// time (cpu-MB/s): on a machine shared with other work the wall time of
// each run, and so MB/s, depends on what else runs; the CPU time much
// less. The benchmark's goroutine stays on its thread meanwhile.
func reportCPUSpeed(b *testing.B, size int) func() {
	runtime.LockOSThread()
	start, ok := threadCPU()
	return func() {
		defer runtime.UnlockOSThread()
		end, ok2 := threadCPU()
		if ok && ok2 && end > start && b.N > 0 {
			b.ReportMetric(float64(size)*float64(b.N)/(float64(end-start)/1e9)/1e6, "cpu-MB/s")
		}
	}
}
