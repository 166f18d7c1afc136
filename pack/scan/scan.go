package scan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

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
	// SecretSlackToken: a Slack token (xoxa-, xoxb-, xoxp-, xoxr-, xoxs-).
	SecretSlackToken SecretKind = "slack-token"
	// SecretGoogleAPIKey: a Google API key (AIza and 35 characters).
	SecretGoogleAPIKey SecretKind = "google-api-key"
	// SecretStripeKey: a live Stripe secret or restricted key (sk_live_,
	// rk_live_).
	SecretStripeKey SecretKind = "stripe-live-key"
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
	// Pointer is the JSON Pointer (RFC 6901) of the string in a json
	// component ("" for text and yaml, and for the whole document).
	Pointer string `json:"pointer,omitempty"`
	// Kind is what the string looks like.
	Kind SecretKind `json:"kind"`
}

// String describes the finding, e.g. `config/agent.yaml line 12: slack-token`
// or `input/messages.json at "/headers/Authorization": bearer-token`.
func (f Finding) String() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", f.Component, f.Line, f.Kind)
	}
	return fmt.Sprintf("%s at %s: %s", f.Component, strconv.Quote(f.Pointer), f.Kind)
}

// SecretsError is returned by pack.Push when disclosed components look like
// they hold credentials. It wraps ErrSecretFound. Its message lists the
// findings (component, line or JSON pointer, kind), never the credentials.
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
	// Data is the component's content when it is held in memory; it is
	// scanned only when it holds a keyword of some detector.
	Data []byte
	// Open opens the content when Data is nil.
	Open func() (io.ReadCloser, error)
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
		if it.Data != nil || it.Open == nil {
			if !mayHoldCredential(it.Data, it.Format) {
				continue // no detector's keyword: nothing to find
			}
			fs, err = Reader(bytes.NewReader(it.Data), it.Name, it.Format)
		} else {
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
			opts.Logger.Debug("credential found", "name", f.Component, "line", f.Line, "pointer", f.Pointer, "kind", f.Kind)
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
// format: json is tokenized, text and yaml are read line by line, binary
// is not scanned (no findings).
func Reader(r io.Reader, name string, format mediatype.Format) ([]Finding, error) {
	switch format {
	case mediatype.FormatJSON:
		return scanJSON(r, name)
	case mediatype.FormatText, mediatype.FormatYAML:
		return scanLines(r, name)
	}
	return nil, nil
}

// scanChunk is the longest piece of a line scanned at once; longer lines
// are scanned in windows that overlap by scanOverlap bytes, so that a
// credential shorter than scanOverlap is never cut in two.
const (
	scanChunk   = 64 << 10
	scanOverlap = 1 << 10
)

// lineReaders recycles scanLines' readers: a push scans every text
// component, and a fresh scanChunk buffer for each of thousands of small
// documents was most of what the push allocated.
var lineReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, scanChunk) }}

func scanLines(r io.Reader, name string) ([]Finding, error) {
	br := lineReaders.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		lineReaders.Put(br)
	}()
	var out []Finding
	var window, lower []byte
	seen := map[SecretKind]bool{}
	line := 1
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			window = append(window, chunk...)
			lower = asciiLower(lower, window)
			for _, k := range detect(window, lower) {
				if !seen[k] {
					seen[k] = true
					out = append(out, Finding{Component: name, Line: line, Kind: k})
				}
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			// The line goes on: keep its tail to scan with what follows.
			keep := min(len(window), scanOverlap)
			window = append(window[:0], window[len(window)-keep:]...)
			continue
		case err == nil:
			line++
			window = window[:0]
			clear(seen)
		case errors.Is(err, io.EOF):
			return out, nil
		default:
			return out, err
		}
	}
}

// scanJSON walks a JSON text token by token. Each string is scanned as
// "<member name>: <value>" when it is a member value (so that a name such as
// aws_secret_access_key gives the value its context), and alone otherwise.
func scanJSON(r io.Reader, name string) ([]Finding, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	type frame struct {
		object bool
		key    string // current member name (object)
		wantK  bool   // next string is a member name (object)
		index  int    // next element index (array)
	}
	var stack []frame
	var out []Finding
	seen := map[string]bool{}
	var lower []byte
	pointer := func() string {
		var b strings.Builder
		for _, f := range stack {
			b.WriteByte('/')
			if f.object {
				b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(f.key))
			} else {
				b.WriteString(strconv.Itoa(f.index))
			}
		}
		return b.String()
	}
	// value is called after a complete value at the top of the stack.
	value := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantK = true
			} else {
				stack[n-1].index++
			}
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
// gives them).
type detector struct {
	kind     SecretKind
	keywords []string
	context  *regexp.Regexp
	re       *regexp.Regexp
	accept   func(m [][]byte) bool
}

var detectors = []detector{
	{kind: SecretAWSAccessKeyID, keywords: []string{"akia", "asia"},
		re: regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{kind: SecretAWSSecretAccessKey, keywords: []string{"aws"},
		re:     regexp.MustCompile(`(?i)aws[a-z0-9_.\-]{0,20}secret[a-z0-9_.\-]{0,20}["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`),
		accept: func(m [][]byte) bool { return hasDigit(m[1]) && hasLetter(m[1]) }},
	{kind: SecretAnthropicKey, keywords: []string{"sk-ant-"},
		re: regexp.MustCompile(`\bsk-ant-[A-Za-z0-9_\-]{32,}`)},
	{kind: SecretOpenAIKey, keywords: []string{"sk-"},
		re: regexp.MustCompile(`\bsk-((?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,})`),
		accept: func(m [][]byte) bool {
			return !bytes.HasPrefix(m[1], []byte("ant-")) && hasDigit(m[1]) && hasLetter(m[1])
		}},
	{kind: SecretGitHubToken, keywords: []string{"ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"},
		re: regexp.MustCompile(`\b(?:(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{50,})\b`)},
	{kind: SecretSlackToken, keywords: []string{"xox"},
		re:     regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9\-]{10,}`),
		accept: func(m [][]byte) bool { return hasDigit(m[0][5:]) }},
	{kind: SecretGoogleAPIKey, keywords: []string{"aiza"},
		re: regexp.MustCompile(`\bAIza[0-9A-Za-z_\-]{35}(?:[^0-9A-Za-z_\-]|$)`)},
	{kind: SecretStripeKey, keywords: []string{"_live_"},
		re: regexp.MustCompile(`\b(?:sk|rk)_live_[0-9A-Za-z]{20,}`)},
	{kind: SecretPrivateKey, keywords: []string{"private key"},
		re: regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`)},
	{kind: SecretJWT, keywords: []string{"eyj"},
		re: regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*`)},
	{kind: SecretBearerToken, keywords: []string{"bearer"},
		re:     regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9._~+/=\-]{16,})`),
		accept: func(m [][]byte) bool { return hasDigit(m[1]) && hasLetter(m[1]) && !placeholder(m[1]) }},
	{kind: SecretConnectionPassword, keywords: []string{"://"},
		re:     regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@"'<>]+:([^\s/@"'<>]+)@[^\s/@"'<>]+`),
		accept: func(m [][]byte) bool { return !placeholder(m[1]) }},
	{kind: SecretConnectionPassword, keywords: []string{"password", "pwd"},
		// ADO.NET / ODBC style: Server=...;User Id=...;Password=...;
		context: regexp.MustCompile(`(?i)(?:^|[;\s"'])(?:server|host|data source|address|addr)\s*=`),
		re:      regexp.MustCompile(`(?i)(?:^|[;\s"'])(?:password|pwd)\s*=\s*([^;\s"']+)`),
		accept:  func(m [][]byte) bool { return !placeholder(m[1]) }},
}

// scanKeywords are the keywords of every detector, once each.
var scanKeywords = func() []string {
	var out []string
	for _, d := range detectors {
		for _, k := range d.keywords {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}()

// mayHoldCredential reports whether a component held in memory may give
// a finding: detect finds nothing in a text whose lower-cased form has no
// keyword of a detector, and every text that ScanReader passes to detect
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
	for _, d := range detectors {
		if len(out) > 0 && out[len(out)-1] == d.kind {
			continue
		}
		if !containsAny(lower, d.keywords) {
			continue
		}
		if d.context != nil && !d.context.Match(line) {
			continue
		}
		for _, m := range d.re.FindAllSubmatch(line, -1) {
			if d.accept == nil || d.accept(m) {
				out = append(out, d.kind)
				break
			}
		}
	}
	return out
}

func containsAny(s []byte, words []string) bool {
	for _, w := range words {
		if bytes.Contains(s, []byte(w)) {
			return true
		}
	}
	return false
}

func hasDigit(b []byte) bool {
	return bytes.ContainsFunc(b, func(r rune) bool { return '0' <= r && r <= '9' })
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
