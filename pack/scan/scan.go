package scan

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/runid/runid-oci/mediatype"
)

// SecretKind names a kind of credential that a scan detects.
type SecretKind string

// The kinds of credential a scan detects.
const (
	// SecretAWSAccessKeyID: an AWS access key ID (AKIA or ASIA and 16
	// upper-case letters or digits).
	SecretAWSAccessKeyID SecretKind = "aws-access-key-id"
	// SecretAWSSecretAccessKey: 40 base64 characters assigned to a name
	// that says AWS and secret (aws_secret_access_key = ...).
	SecretAWSSecretAccessKey SecretKind = "aws-secret-access-key"
	// SecretOpenAIKey: an OpenAI API key (sk-..., sk-proj-..., sk-svcacct-...).
	SecretOpenAIKey SecretKind = "openai-api-key"
	// SecretAnthropicKey: an Anthropic API key (sk-ant-...).
	SecretAnthropicKey SecretKind = "anthropic-api-key"
	// SecretGitHubToken: a GitHub token (ghp_, gho_, ghs_, ghu_, ghr_,
	// github_pat_).
	SecretGitHubToken SecretKind = "github-token"
	// SecretSlackToken: a Slack token (xoxa-, xoxb-, xoxp-, xoxr-, xoxs-,
	// and app-level xapp-).
	SecretSlackToken SecretKind = "slack-token"
	// SecretGoogleAPIKey: a Google API key (AIza and 35 characters).
	SecretGoogleAPIKey SecretKind = "google-api-key"
	// SecretStripeKey: a live Stripe secret or restricted key (sk_live_,
	// rk_live_).
	SecretStripeKey SecretKind = "stripe-live-key"
	// SecretHuggingFaceToken: a Hugging Face access token (hf_ and 34
	// letters or digits, upper and lower case).
	SecretHuggingFaceToken SecretKind = "huggingface-token"
	// SecretWandBKey: a Weights & Biases API key (40 lower-case hex digits)
	// assigned to a name that says wandb (WANDB_API_KEY=...).
	SecretWandBKey SecretKind = "wandb-api-key"
	// SecretAzureOpenAIKey: an Azure OpenAI or Azure AI services key (32
	// hex digits, or 84 letters and digits) assigned to a name that says
	// azure and key (AZURE_OPENAI_API_KEY=...).
	SecretAzureOpenAIKey SecretKind = "azure-openai-key"
	// SecretPrivateKey: a PEM private key (-----BEGIN ... PRIVATE KEY-----).
	SecretPrivateKey SecretKind = "private-key"
	// SecretJWT: a JSON Web Token (three base64url parts, the first two
	// JSON objects).
	SecretJWT SecretKind = "jwt"
	// SecretBearerToken: a bearer token, as in "Authorization: Bearer ...".
	SecretBearerToken SecretKind = "bearer-token"
	// SecretConnectionPassword: a password in a connection string
	// (scheme://user:password@host, or Password=... next to Server=/Host=).
	// Placeholders such as ${DB_PASSWORD}, $DB_PASSWORD, <password>,
	// {{password}}, *** or "password" are not findings.
	SecretConnectionPassword SecretKind = "connection-string-password"
)

// SecretKinds returns every kind a scan detects, in a fixed order.
func SecretKinds() []SecretKind {
	out := make([]SecretKind, len(detectors))
	for i, d := range detectors {
		out[i] = d.kind
	}
	return out
}

// Finding is one credential-like string in a component. It locates the
// string and says what it looks like; it never holds the string.
type Finding struct {
	// Component is the component's logical name.
	Component string `json:"component"`
	// Line is the 1-based line in a text or yaml component (0 for json).
	Line int `json:"line,omitempty"`
	// Column is the 1-based column (in bytes) of a yaml scalar that holds
	// the credential once parsed; 0 when the line itself holds it.
	Column int `json:"column,omitempty"`
	// Pointer locates the string in a json component by indices only:
	// "/2/0" is the first element (or member) of the third member (or
	// element) of the top-level value, members counted from 0 in document
	// order. It never holds a member name, which may be the credential
	// itself ("" for text and yaml, and for the whole document).
	Pointer string `json:"pointer,omitempty"`
	// Kind is what the string looks like.
	Kind SecretKind `json:"kind"`
}

// String describes the finding, e.g. `config/agent.yaml line 12: slack-token`,
// `config/agent.yaml line 3 column 9: openai-api-key` or
// `input/messages.json at member path /1/0: bearer-token`.
func (f Finding) String() string {
	switch {
	case f.Line > 0 && f.Column > 0:
		return fmt.Sprintf("%s line %d column %d: %s", f.Component, f.Line, f.Column, f.Kind)
	case f.Line > 0:
		return fmt.Sprintf("%s line %d: %s", f.Component, f.Line, f.Kind)
	}
	return fmt.Sprintf("%s at member path %s: %s", f.Component, cmp.Or(f.Pointer, "/"), f.Kind)
}

// SecretsError is returned by pack.Push when disclosed components look like
// they hold credentials. It wraps ErrSecretFound. Its message lists the
// findings (component, line and column or member path, kind), never the
// credentials.
type SecretsError struct {
	// Findings lists every finding, in component order.
	Findings []Finding
}

// Error lists the findings (at most 20) and says how to proceed; it never
// holds a credential.
func (e *SecretsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d finding(s)", ErrSecretFound, len(e.Findings))
	for i, f := range e.Findings {
		if i == 20 {
			fmt.Fprintf(&b, "; and %d more", len(e.Findings)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(f.String())
	}
	b.WriteString(". Remove the credential (record the name of a secret, not its value), withhold the component (withheld: true), or allow it explicitly")
	return b.String()
}

// Unwrap returns ErrSecretFound.
func (e *SecretsError) Unwrap() error { return ErrSecretFound }

// Options configure Items. The zero value is valid.
type Options struct {
	// MaxFindings stops the scan once that many findings are made.
	// Default: DefaultMaxFindings.
	MaxFindings int
	// Logger receives debug logs (component names, lines and kinds,
	// never matched text). Default: discard.
	Logger *slog.Logger
}

// DefaultMaxFindings is how many findings a scan reports at most by
// default.
const DefaultMaxFindings = 100

// Item is one component to scan.
type Item struct {
	// Name is the component's logical name, used in findings.
	Name string
	// Format is the component's format: binary is not scanned.
	Format mediatype.Format
	// Data is the component's content when it is held in memory.
	Data []byte
	// Open opens the content when Data is nil.
	Open func() (io.ReadCloser, error)
	// Scanned says that the content was already scanned, by Reader as it
	// was read for another purpose (pack.Build scans a text file as it
	// hashes it), and Findings is what that scan found: Items reads
	// nothing of the item and reports Findings as its own.
	Scanned  bool
	Findings []Finding
}

// Items scans every item in order and returns the findings in that order;
// none means none was found. The error is not nil only when an item could
// not be read or ctx ended.
func Items(ctx context.Context, items []Item, opts Options) ([]Finding, error) {
	if opts.MaxFindings <= 0 {
		opts.MaxFindings = DefaultMaxFindings
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var out []Finding
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if it.Format != mediatype.FormatText && it.Format != mediatype.FormatYAML && it.Format != mediatype.FormatJSON {
			opts.Logger.Debug("not scanned for credentials", "name", it.Name, "format", it.Format)
			continue
		}
		var fs []Finding
		var err error
		switch {
		case it.Scanned:
			fs = it.Findings
		case it.Data != nil || it.Open == nil:
			if it.Format == mediatype.FormatJSON && !mayHoldCredential(it.Data, it.Format) {
				continue // no detector's keyword: nothing to find
			}
			fs, err = Reader(bytes.NewReader(it.Data), it.Name, it.Format)
		default:
			rc, oerr := it.Open()
			if oerr != nil {
				return out, oerr
			}
			fs, err = Reader(rc, it.Name, it.Format)
			rc.Close()
		}
		if err != nil {
			return out, fmt.Errorf("scan component %q: %w", it.Name, err)
		}
		for _, f := range fs {
			opts.Logger.Debug("credential found", "name", f.Component, "line", f.Line, "column", f.Column, "pointer", f.Pointer, "kind", f.Kind)
		}
		out = append(out, fs...)
		if len(out) >= opts.MaxFindings {
			return out[:opts.MaxFindings], nil
		}
	}
	return out, nil
}

// Reader scans one component's bytes, read as a stream from r, for
// credentials. name is used in the findings. format is the component's
// format: json is tokenized, text is read in blocks of lines, yaml is read
// whole (it is structured, so bounded by BuildOptions.MaxStructuredSize)
// and scanned line by line and, when it holds a backslash, scalar by
// scalar as parsed; binary is not scanned (no findings).
func Reader(r io.Reader, name string, format mediatype.Format) ([]Finding, error) {
	switch format {
	case mediatype.FormatJSON:
		return scanJSON(r, name)
	case mediatype.FormatText:
		return scanLines(r, name)
	case mediatype.FormatYAML:
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		out, err := scanLines(bytes.NewReader(data), name)
		if err != nil || bytes.IndexByte(data, '\\') < 0 {
			return out, err
		}
		return scanYAMLScalars(data, name, out), nil
	}
	return nil, nil
}

// scanChunk is the longest piece of a line scanned at once; longer lines
// are scanned in windows that overlap by scanOverlap bytes, so that a
// credential shorter than scanOverlap is never cut in two. scanBlock is
// how much scanLines reads at once.
const (
	scanChunk   = 64 << 10
	scanOverlap = 1 << 10
	scanBlock   = 1 << 20
)

// The prefilter. anchorHit is a necessary condition for a detector to
// match: a line (or a window of it) on which detect finds a credential
// holds a byte of anchorBytes at which anchorHit is true (each detector's
// comment names the anchor it relies on). scanBlock finds each anchor byte
// with bytes.IndexByte, which runs at memory speed, and checks each hit
// with a few byte comparisons, so that lines of prose, code and JSON are
// ruled out without a regular expression or a lower-cased copy; once a
// line passes, the rest of it is skipped.
//
// The checks must allow everything the regular expressions can match,
// case folding included: under (?i) Go's regexp matches k and s also as
// U+212A KELVIN SIGN and U+017F LATIN SMALL LETTER LONG S, so keyChars
// and endsWithFold count those as letters.
//
// The word "bearer" has no anchor byte: each of its letters is common in
// text (b is one byte in 27 of random lower-case letters), and a stop at
// each would cost more than the rest of the scan. bearerLines finds it
// instead, eight bytes at a time.
const anchorBytes = "_-:=AJ"

// anchorHit reports whether the anchor byte p[at] may start or hold a
// detector's match.
func anchorHit(p []byte, at int) bool {
	switch p[at] {
	case '_':
		return underscoreHit(p, at)
	case '-':
		return hyphenHit(p, at)
	case ':':
		return colonHit(p, at)
	case '=':
		return equalsHit(p, at)
	case 'A': // AKIA, ASIA, AIza
		return startsWith(p, at, "AKIA") || startsWith(p, at, "ASIA") || startsWith(p, at, "AIza")
	case 'J': // eyJ
		return at >= 2 && p[at-2] == 'e' && p[at-1] == 'y'
	}
	return false
}

// underscoreHit: ghp_, gho_, ghs_, ghu_, ghr_, github_pat_, sk_live_ and
// rk_live_, hf_.
func underscoreHit(p []byte, at int) bool {
	if at == 0 {
		return false
	}
	switch p[at-1] {
	case 'p', 'o', 's', 'u', 'r':
		return endsWith(p, at-1, "gh")
	case 't':
		return endsWith(p, at, "github_pat")
	case 'e':
		return endsWith(p, at, "_live")
	case 'f':
		return endsWith(p, at, "hf")
	}
	return false
}

// hyphenHit: sk- (OpenAI, Anthropic), xoxa- to xoxs- and xapp- (Slack),
// -----BEGIN (a private key).
func hyphenHit(p []byte, at int) bool {
	return endsWith(p, at, "sk") || endsWith(p, at, "xapp") || endsWith(p, at-1, "xox") ||
		startsWith(p, at, "-----BEGIN ")
}

// colonHit: scheme://user:password@host, or a key assigned with a colon.
func colonHit(p []byte, at int) bool {
	return startsWith(p, at, "://") && userinfo(p[at+3:]) || longValue(p[at+1:])
}

// endsWith reports whether p[:at] ends with w.
func endsWith(p []byte, at int, w string) bool {
	if at < len(w) || at > len(p) {
		return false
	}
	for i := range len(w) {
		if p[at-len(w)+i] != w[i] {
			return false
		}
	}
	return true
}

// startsWith reports whether p[at:] starts with w.
func startsWith(p []byte, at int, w string) bool {
	if len(p)-at < len(w) {
		return false
	}
	for i := range len(w) {
		if p[at+i] != w[i] {
			return false
		}
	}
	return true
}

// equalsHit: password= or pwd= (any case, blanks before the =), or a key
// assigned with =.
func equalsHit(p []byte, at int) bool {
	i := at
	for i > 0 && isBlank(p[i-1]) {
		i--
	}
	if i > 0 && p[i-1]|0x20 == 'd' && (endsWithFold(p[:i], "pwd") || endsWithFold(p[:i], "password")) {
		return true
	}
	return longValue(p[at+1:])
}

// endsWithFold reports whether b ends with the lower-case ASCII word w as
// a case-insensitive regular expression matches it: in any mix of cases,
// with s also as U+017F and k also as U+212A.
func endsWithFold(b []byte, w string) bool {
	for i := len(w) - 1; i >= 0; i-- {
		switch n := len(b); {
		case n > 0 && b[n-1]|0x20 == w[i] && 'a' <= w[i] && w[i] <= 'z':
			b = b[:n-1]
		case w[i] == 's' && n >= 2 && b[n-2] == 0xC5 && b[n-1] == 0xBF: // U+017F
			b = b[:n-2]
		case w[i] == 'k' && n >= 3 && b[n-3] == 0xE2 && b[n-2] == 0x84 && b[n-1] == 0xAA: // U+212A
			b = b[:n-3]
		default:
			return false
		}
	}
	return true
}

// SWAR (eight bytes in a uint64) constants: each byte 0x01, 0x20, 0x80.
const (
	swarOnes  = 0x0101010101010101
	swarCase  = 0x2020202020202020
	swarHighs = 0x8080808080808080
)

// swarZeros returns a word whose byte i has its high bit set if byte i of
// x is zero; a byte above a zero one may be set too (the borrow carries),
// but a zero byte is never missed.
func swarZeros(x uint64) uint64 { return (x - swarOnes) & ^x & swarHighs }

// bearerLines appends to spans the lines of p that hold "bearer" in any
// mix of cases (the bearer detector is case-insensitive; none of its
// letters folds to a non-ASCII one), each line once.
//
// It looks for the word's r and r two bytes later, eight bytes at a time:
// OR-ing 0x20 into each byte turns R into r (and only R and r become r),
// and the bytes equal to r are the zero bytes of that word XOR-ed with r
// in every byte. A position that starts "r?r" in one word may end it in
// the next, so each word is checked once the next one is loaded. Each
// candidate, about one position in 700 of random letters and fewer in
// prose, is then checked whole.
func bearerLines(p []byte, spans [][2]int) [][2]int {
	const r = 'r' * swarOnes
	i := 0 // the word whose positions are checked, once the next is loaded
	var rs uint64
	if len(p) >= 8 {
		rs = swarZeros(binary.LittleEndian.Uint64(p) | swarCase ^ r)
	}
	for i+16 <= len(p) {
		// Most words hold no candidate: skip them two at a time.
		for i+24 <= len(p) {
			q := p[i+8 : i+24]
			a := swarZeros(binary.LittleEndian.Uint64(q) | swarCase ^ r)
			b := swarZeros(binary.LittleEndian.Uint64(q[8:]) | swarCase ^ r)
			if rs&(rs>>16|a<<48)|a&(a>>16|b<<48) != 0 {
				break
			}
			rs = b
			i += 16
		}
		if i+16 > len(p) {
			break
		}
		next := swarZeros(binary.LittleEndian.Uint64(p[i+8:]) | swarCase ^ r)
		m := rs & (rs>>16 | next<<48)
		rs = next
		found := false
		for ; m != 0 && !found; m &= m - 1 {
			at := i + bits.TrailingZeros64(m)/8 - 3 // where "bearer" would start
			found = at >= 0 && at+6 <= len(p) && asciiEqualFold(p[at:at+6], "bearer")
			if found {
				spans, i = takeLine(p, at, spans)
				if i+8 <= len(p) {
					rs = swarZeros(binary.LittleEndian.Uint64(p[i:]) | swarCase ^ r)
				}
			}
		}
		if !found {
			i += 8
		}
	}
	for ; i+3 <= len(p); i++ { // the last bytes, one position at a time
		if at := i - 3; at >= 0 && asciiEqualFold(p[at:at+6], "bearer") {
			spans, i = takeLine(p, at, spans)
			i--
		}
	}
	return spans
}

// takeLine appends to spans the line of p that holds p[at], and returns
// where the next line starts.
func takeLine(p []byte, at int, spans [][2]int) ([][2]int, int) {
	start := bytes.LastIndexByte(p[:at], '\n') + 1
	end := len(p)
	if j := bytes.IndexByte(p[at:], '\n'); j >= 0 {
		end = at + j
	}
	return append(spans, [2]int{start, end}), end + 1
}

// asciiEqualFold reports whether b equals the lower-case ASCII word w in
// any mix of cases.
func asciiEqualFold(b []byte, w string) bool {
	for i := range len(w) {
		if b[i]|0x20 != w[i] {
			return false
		}
	}
	return true
}

// isBlank reports whether c is what \s matches on a line: a space, \t,
// \f or \r (a line holds no \n).
func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' || c == '\r' }

// userinfo reports whether the rest of a URL after "://" holds an @
// before a blank, a slash, a quote or an angle bracket, as a URL with a
// user and password does.
func userinfo(b []byte) bool {
	for _, c := range b {
		switch c {
		case '@':
			return true
		case ' ', '\t', '\n', '\f', '\r', '/', '"', '\'', '<', '>':
			return false
		}
	}
	return false
}

// longValue reports whether b starts, after blanks and quotes, with 32 or
// more characters of a key (letters, digits, / and +): what an assigned
// AWS secret, Weights & Biases or Azure key is.
func longValue(b []byte) bool {
	i := 0
	for i < len(b) && (isBlank(b[i]) || b[i] == '"' || b[i] == '\'') {
		i++
	}
	return keyChars(b[i:], 32) == 32
}

// keyChars counts the characters of a key at the start of b, up to max:
// ASCII letters and digits, / and +, and the two non-ASCII letters that
// a case-insensitive [A-Za-z] also matches (U+017F, U+212A).
func keyChars(b []byte, limit int) int {
	n := 0
	for i := 0; i < len(b) && n < limit; n++ {
		c := b[i]
		switch {
		case isKeyByte[c]:
			i++
		case c == 0xC5 && i+1 < len(b) && b[i+1] == 0xBF: // U+017F
			i += 2
		case c == 0xE2 && i+2 < len(b) && b[i+1] == 0x84 && b[i+2] == 0xAA: // U+212A
			i += 3
		default:
			return n
		}
	}
	return n
}

// isKeyByte holds the ASCII characters of a key: letters, digits, / and +.
var isKeyByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '/' || c == '+'
	}
	return t
}()

// blockBufs recycles scanLines' blocks: a push scans every text component,
// and a fresh block for each of thousands of small documents would be most
// of what the push allocates.
var blockBufs = sync.Pool{New: func() any { b := make([]byte, scanBlock); return &b }}

// lineScanner holds scanLines' state across blocks.
type lineScanner struct {
	name     string
	out      []Finding
	line     int // the line at the start of the block being scanned
	seenLine int
	seen     map[SecretKind]bool
	spans    [][2]int
	lower    []byte
}

// smallBlock is the size of the first read: an input that ends within it
// is scanned from a buffer of that size and never takes a whole block, so
// that scanning thousands of small documents at once holds a few small
// buffers rather than a block each.
const smallBlock = 64 << 10

var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBlock); return &b }}

func scanLines(r io.Reader, name string) ([]Finding, error) {
	s := &lineScanner{name: name, line: 1, seen: map[SecretKind]bool{}}
	sp := smallBufs.Get().(*[]byte)
	n, err := io.ReadFull(r, *sp)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		s.scanBlock((*sp)[:n])
		smallBufs.Put(sp)
		return s.out, nil
	}
	if err != nil {
		smallBufs.Put(sp)
		return s.out, err
	}
	// More follows: go on in whole blocks, from what was read, as if
	// the first read had filled the block.
	bp := blockBufs.Get().(*[]byte)
	defer blockBufs.Put(bp)
	buf := *bp
	carry := copy(buf, (*sp)[:n])
	smallBufs.Put(sp)
	for {
		n, err := io.ReadFull(r, buf[carry:])
		n += carry
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return s.out, err
		}
		end := n
		if !eof {
			if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
				end = i + 1
			}
		}
		s.scanBlock(buf[:end])
		if eof {
			return s.out, nil
		}
		if end == n {
			// One line fills the block: keep its tail to scan with what
			// follows. It holds no newline, so no line is counted twice.
			end = n - scanOverlap
		}
		carry = copy(buf, buf[end:n])
	}
}

// scanPieceSize is how much of a block scanBlock searches at once: the
// prefilter makes several passes over what it searches, which then stay in
// the processor's nearest caches instead of going to memory for each.
const scanPieceSize = 32 << 10

// scanBlock scans the lines of p that hold an anchor. p ends at the end of
// a line, or in the middle of a line longer than the block; s.line is the
// line p starts on, and is advanced past p. It scans p in pieces of about
// scanPieceSize bytes that end at the end of a line (a line longer than that
// is a piece of its own).
func (s *lineScanner) scanBlock(p []byte) {
	for len(p) > scanPieceSize {
		end := bytes.LastIndexByte(p[:scanPieceSize], '\n') + 1
		if end == 0 {
			if j := bytes.IndexByte(p[scanPieceSize:], '\n'); j >= 0 {
				end = scanPieceSize + j + 1
			} else {
				end = len(p)
			}
		}
		s.scanPiece(p[:end])
		p = p[end:]
	}
	s.scanPiece(p)
}

// scanPiece scans the lines of p that hold an anchor, as scanBlock does.
func (s *lineScanner) scanPiece(p []byte) {
	spans := s.spans[:0]
	for k := range len(anchorBytes) {
		c := anchorBytes[k]
		for off := 0; off < len(p); {
			i := bytes.IndexByte(p[off:], c)
			if i < 0 {
				break
			}
			at := off + i
			if !anchorHit(p, at) {
				off = at + 1
				continue
			}
			start := bytes.LastIndexByte(p[:at], '\n') + 1
			end := len(p)
			if j := bytes.IndexByte(p[at:], '\n'); j >= 0 {
				end = at + j
			}
			spans = append(spans, [2]int{start, end})
			off = end + 1 // the line is taken: look no further in it
		}
	}
	spans = bearerLines(p, spans)
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	spans = slices.Compact(spans)
	s.spans = spans
	line, counted := s.line, 0
	for _, sp := range spans {
		line += bytes.Count(p[counted:sp[0]], []byte{'\n'})
		counted = sp[0]
		s.detectLine(p[sp[0]:sp[1]], line)
	}
	s.line = line + bytes.Count(p[counted:], []byte{'\n'})
}

// detectLine runs the detectors on one line (or the part of it that a
// block holds), in windows of scanChunk bytes.
func (s *lineScanner) detectLine(text []byte, line int) {
	if line != s.seenLine {
		clear(s.seen)
		s.seenLine = line
	}
	for off := 0; ; off += scanChunk - scanOverlap {
		w := text[off:min(len(text), off+scanChunk)]
		s.lower = asciiLower(s.lower, w)
		for _, k := range detect(w, s.lower) {
			if !s.seen[k] {
				s.seen[k] = true
				s.out = append(s.out, Finding{Component: s.name, Line: line, Kind: k})
			}
		}
		if off+scanChunk >= len(text) {
			return
		}
	}
}

// scanYAMLScalars parses a yaml component and scans every string scalar
// as parsed (with its mapping key, as scanJSON does), adding what the line
// scan in out did not find on the same line. A component that does not
// parse was refused when it was built; it adds nothing here.
func scanYAMLScalars(data []byte, name string, out []Finding) []Finding {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return out
	}
	found := map[[2]int]map[SecretKind]bool{}
	for _, o := range out {
		if found[[2]int{o.Line, 0}] == nil {
			found[[2]int{o.Line, 0}] = map[SecretKind]bool{}
		}
		found[[2]int{o.Line, 0}][o.Kind] = true
	}
	var lower []byte
	scan := func(text string, tk *token.Token) {
		b := []byte(text)
		lower = asciiLower(lower, b)
		for _, k := range detect(b, lower) {
			pos := tk.Position
			if found[[2]int{pos.Line, 0}][k] {
				continue
			}
			key := [2]int{pos.Line, pos.Column}
			if found[key] == nil {
				found[key] = map[SecretKind]bool{}
			}
			if !found[key][k] {
				found[key][k] = true
				out = append(out, Finding{Component: name, Line: pos.Line, Column: pos.Column, Kind: k})
			}
		}
	}
	v := yamlVisitor(func(n ast.Node) {
		switch n := n.(type) {
		case *ast.MappingValueNode:
			if sv, ok := n.Value.(*ast.StringNode); ok && sv.Token != nil {
				scan(n.Key.String()+": "+sv.Value, sv.Token)
			}
			if sk, ok := n.Key.(*ast.StringNode); ok && sk.Token != nil {
				scan(sk.Value, sk.Token)
			}
		case *ast.StringNode:
			if n.Token != nil {
				scan(n.Value, n.Token)
			}
		}
	})
	for _, d := range f.Docs {
		if d.Body != nil {
			ast.Walk(v, d.Body)
		}
	}
	return out
}

// yamlVisitor calls itself on every node of a yaml tree.
type yamlVisitor func(ast.Node)

func (v yamlVisitor) Visit(n ast.Node) ast.Visitor {
	v(n)
	return v
}

// scanJSON walks a JSON text token by token. Each string is scanned as
// "<member name>: <value>" when it is a member value (so that a name such as
// aws_secret_access_key gives the value its context), and alone otherwise.
// Findings locate the string by member and element indices.
func scanJSON(r io.Reader, name string) ([]Finding, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	type frame struct {
		object bool
		key    string // current member name (object), for context only
		wantK  bool   // next string is a member name (object)
		index  int    // current member (object) or element (array) index
	}
	var stack []frame
	var out []Finding
	seen := map[string]bool{}
	var lower []byte
	pointer := func() string {
		var b strings.Builder
		for _, f := range stack {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(f.index))
		}
		return b.String()
	}
	// value is called after a complete value at the top of the stack.
	value := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantK = true
			}
			stack[n-1].index++
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read JSON: %w", err)
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantK: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				value()
			}
		case string:
			n := len(stack)
			if n > 0 && stack[n-1].object && stack[n-1].wantK {
				stack[n-1].key, stack[n-1].wantK = t, false
				text := []byte(t)
				lower = asciiLower(lower, text)
				for _, k := range detect(text, lower) {
					out = addJSONFinding(out, seen, name, pointer(), k)
				}
				continue
			}
			text := []byte(t)
			if n > 0 && stack[n-1].object {
				text = []byte(stack[n-1].key + ": " + t)
			}
			lower = asciiLower(lower, text)
			for _, k := range detect(text, lower) {
				out = addJSONFinding(out, seen, name, pointer(), k)
			}
			value()
		default:
			value()
		}
	}
}

func addJSONFinding(out []Finding, seen map[string]bool, name, ptr string, k SecretKind) []Finding {
	key := ptr + "\x00" + string(k)
	if seen[key] {
		return out
	}
	seen[key] = true
	return append(out, Finding{Component: name, Pointer: ptr, Kind: k})
}

// asciiLower returns src with ASCII letters lower-cased, in dst's storage.
func asciiLower(dst, src []byte) []byte {
	dst = append(dst[:0], src...)
	for i, c := range dst {
		if 'A' <= c && c <= 'Z' {
			dst[i] = c + 'a' - 'A'
		}
	}
	return dst
}

// detector finds one kind of credential. A line is matched against re
// only if its lower-cased form contains one of the keywords, and context
// (if set) matches it; accept, if set, vets each match (submatches as re
// gives them). Every match of re must hold an anchor byte at which anchorHit is true (the
// comment after each detector names it), or scanLines would never show it
// the line.
type detector struct {
	kind     SecretKind
	keywords []string
	context  func() *regexp.Regexp
	re       func() *regexp.Regexp
	accept   func(m [][]byte) bool
}

// lazyRegexp compiles expr on its first use, once: a process that scans
// nothing (most commands) does not pay for compiling the detectors when
// it starts.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

var detectors = []detector{
	{kind: SecretAWSAccessKeyID, keywords: []string{"akia", "asia"}, // AKIA, ASIA
		re: lazyRegexp(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{kind: SecretAWSSecretAccessKey, keywords: []string{"aws"}, // : or =
		re:     lazyRegexp(`(?i)aws[a-z0-9_.\-]{0,20}secret[a-z0-9_.\-]{0,20}["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`),
		accept: func(m [][]byte) bool { return hasDigit(m[1]) && hasLetter(m[1]) }},
	{kind: SecretAnthropicKey, keywords: []string{"sk-ant-"}, // -
		re: lazyRegexp(`\bsk-ant-[A-Za-z0-9_\-]{32,}`)},
	{kind: SecretOpenAIKey, keywords: []string{"sk-"}, // -
		re: lazyRegexp(`\bsk-((?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,})`),
		accept: func(m [][]byte) bool {
			return !bytes.HasPrefix(m[1], []byte("ant-")) && hasDigit(m[1]) && hasLetter(m[1])
		}},
	{kind: SecretGitHubToken, keywords: []string{"ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"}, // _
		re: lazyRegexp(`\b(?:(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{50,})\b`)},
	{kind: SecretSlackToken, keywords: []string{"xox", "xapp-"}, // -
		re:     lazyRegexp(`\b(?:xox[abprs]|xapp)-[A-Za-z0-9\-]{10,}`),
		accept: func(m [][]byte) bool { return hasDigit(m[0][bytes.IndexByte(m[0], '-'):]) }},
	{kind: SecretGoogleAPIKey, keywords: []string{"aiza"}, // AIza
		re: lazyRegexp(`\bAIza[0-9A-Za-z_\-]{35}(?:[^0-9A-Za-z_\-]|$)`)},
	{kind: SecretStripeKey, keywords: []string{"_live_"}, // _
		re: lazyRegexp(`\b(?:sk|rk)_live_[0-9A-Za-z]{20,}`)},
	{kind: SecretHuggingFaceToken, keywords: []string{"hf_"}, // _
		re:     lazyRegexp(`\bhf_([A-Za-z0-9]{34})\b`),
		accept: func(m [][]byte) bool { return hasUpper(m[1]) && hasLower(m[1]) }},
	{kind: SecretWandBKey, keywords: []string{"wandb"}, // : or =
		re:     lazyRegexp(`(?i)wandb[a-z0-9_.\-]{0,20}["']?\s*[:=]\s*["']?([0-9a-f]{40})\b`),
		accept: func(m [][]byte) bool { return hasDigit(m[1]) && hasLetter(m[1]) }},
	{kind: SecretAzureOpenAIKey, keywords: []string{"azure"}, // : or =
		re:     lazyRegexp(`(?i)azure[a-z0-9_.\-]{0,30}key["']?\s*[:=]\s*["']?([0-9a-f]{32}|[A-Za-z0-9]{84})\b`),
		accept: func(m [][]byte) bool { return hasDigit(m[1]) && hasLetter(m[1]) }},
	{kind: SecretPrivateKey, keywords: []string{"private key"}, // -
		re: lazyRegexp(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`)},
	{kind: SecretJWT, keywords: []string{"eyj"}, // eyJ
		re: lazyRegexp(`\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*`)},
	{kind: SecretBearerToken, keywords: []string{"bearer"}, // b or B
		re:     lazyRegexp(`(?i)\bbearer\s+([A-Za-z0-9._~+/=\-]{16,})`),
		accept: func(m [][]byte) bool { return hasDigit(m[1]) && hasLetter(m[1]) && !placeholder(m[1]) }},
	{kind: SecretConnectionPassword, keywords: []string{"://"}, // :
		re:     lazyRegexp(`\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@"'<>]+:([^\s/@"'<>]+)@[^\s/@"'<>]+`),
		accept: func(m [][]byte) bool { return !placeholder(m[1]) }},
	{kind: SecretConnectionPassword, keywords: []string{"password", "pwd"}, // =
		// ADO.NET / ODBC style: Server=...;User Id=...;Password=...;
		context: lazyRegexp(`(?i)(?:^|[;\s"'])(?:server|host|data source|address|addr)\s*=`),
		re:      lazyRegexp(`(?i)(?:^|[;\s"'])(?:password|pwd)\s*=\s*([^;\s"']+)`),
		accept:  func(m [][]byte) bool { return !placeholder(m[1]) }},
}

// scanKeywords are the keywords of every detector, once each.
var scanKeywords = func() [][]byte {
	var out [][]byte
	for _, d := range detectors {
		for _, k := range d.keywords {
			if !slices.ContainsFunc(out, func(b []byte) bool { return string(b) == k }) {
				out = append(out, []byte(k))
			}
		}
	}
	return out
}()

// mayHoldCredential reports whether a component held in memory may give
// a finding: detect finds nothing in a text whose lower-cased form has no
// keyword of a detector, and every text that Reader passes to detect
// is a piece of the component (a line, a window of a line; for json, a
// member name, a string value, or both joined by ": ", which makes no
// keyword) once escapes are decoded. So one pass over the lower-cased
// bytes for the keywords rules most components out; a json component
// with an escape that could make a keyword character (\/ for "://", or
// \u for anything but a control character) is scanned in full.
func mayHoldCredential(data []byte, format mediatype.Format) bool {
	if format == mediatype.FormatJSON && keywordEscape(data) {
		return true
	}
	lp := lowerBufs.Get().(*[]byte)
	*lp = asciiLower((*lp)[:0], data)
	found := containsAny(*lp, scanKeywords)
	if cap(*lp) <= maxPooledLower {
		lowerBufs.Put(lp)
	}
	return found
}

// maxPooledLower caps the copies that lowerBufs keeps.
const maxPooledLower = 1 << 20

// lowerBufs recycles mayHoldCredential's lower-cased copies.
var lowerBufs = sync.Pool{New: func() any { return new([]byte) }}

// keywordEscape reports whether JSON text has an escape that decodes to a
// character a keyword may hold: \/, or \u other than a control
// character.
func keywordEscape(data []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '\\')
		if j < 0 || i+j+1 >= len(data) {
			return false
		}
		i += j + 1
		switch data[i] {
		case '/':
			return true
		case 'u':
			if i+5 > len(data) {
				return true
			}
			v, err := strconv.ParseUint(string(data[i+1:i+5]), 16, 16)
			if err != nil || v >= 0x20 {
				return true
			}
			i += 5
		default:
			i++ // \" \\ \b \f \n \r \t
		}
	}
}

// detect returns the kinds of credential on line (lower is line
// lower-cased), each once.
func detect(line, lower []byte) []SecretKind {
	var out []SecretKind
	for i, d := range detectors {
		if len(out) > 0 && out[len(out)-1] == d.kind {
			continue
		}
		if !containsAny(lower, detectorKeywords[i]) {
			continue
		}
		if d.context != nil && !d.context().Match(line) {
			continue
		}
		for _, m := range d.re().FindAllSubmatch(line, -1) {
			if d.accept == nil || d.accept(m) {
				out = append(out, d.kind)
				break
			}
		}
	}
	return out
}

func containsAny(s []byte, words [][]byte) bool {
	for _, w := range words {
		if bytes.Contains(s, w) {
			return true
		}
	}
	return false
}

// detectorKeywords holds each detector's keywords as bytes, so that detect
// converts and looks up none per line.
var detectorKeywords = func() [][][]byte {
	out := make([][][]byte, len(detectors))
	for i, d := range detectors {
		for _, k := range d.keywords {
			out[i] = append(out[i], []byte(k))
		}
	}
	return out
}()

func hasDigit(b []byte) bool {
	return bytes.ContainsFunc(b, func(r rune) bool { return '0' <= r && r <= '9' })
}

func hasUpper(b []byte) bool {
	return bytes.ContainsFunc(b, func(r rune) bool { return 'A' <= r && r <= 'Z' })
}

func hasLower(b []byte) bool {
	return bytes.ContainsFunc(b, func(r rune) bool { return 'a' <= r && r <= 'z' })
}

func hasLetter(b []byte) bool {
	return bytes.ContainsFunc(b, func(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' })
}

// placeholder reports whether a password or token is an obvious stand-in:
// a variable (${X}, $X, $(X), {{x}}, %(x)s, %s), a masked value (***,
// xxxx, ...), or a word such as "password" or "changeme".
func placeholder(b []byte) bool {
	s := strings.Trim(string(b), `"'`)
	l := strings.ToLower(s)
	switch {
	case s == "":
		return true
	case strings.HasPrefix(s, "${"), strings.HasPrefix(s, "$("), strings.HasPrefix(s, "{{"),
		strings.HasPrefix(s, "%("), strings.HasPrefix(s, "<"), s == "%s", strings.HasPrefix(s, "#{"):
		return true
	case s[0] == '$' && strings.Trim(s[1:], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == "":
		return true
	case strings.Trim(l, "*x.•-_") == "":
		return true
	}
	for _, w := range []string{"password", "passwd", "pass", "pwd", "secret", "changeme", "redacted",
		"example", "placeholder", "your_password", "your-password", "yourpassword", "mypassword", "token", "your_token", "your-token"} {
		if l == w {
			return true
		}
	}
	return strings.Contains(l, "your_") || strings.Contains(l, "your-") || strings.Contains(l, "example") || strings.Contains(l, "placeholder") || strings.Contains(l, "redacted")
}

// ErrSecretFound: a disclosed component looks like it holds a credential;
// the error is a *SecretsError listing the findings.
var ErrSecretFound = errors.New("credential found in a disclosed component")
