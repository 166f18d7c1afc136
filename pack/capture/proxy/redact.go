package proxy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/scan"
)

// Facts of the redaction of a recorded body.
const (
	// FactRedacted counts the places in the recorded body where the value
	// of one of the request's credential headers was replaced with
	// Redacted (an upstream that echoes the request).
	FactRedacted = "credentialsRedacted"
	// FactWithheldBody says why the response body is not in the record: a
	// credential scan of it (the one pack.Push runs) found something.
	FactWithheldBody = "bodyNotRecorded"
)

// Redacted replaces a credential header's value in a recorded body.
const Redacted = "[REDACTED]"

// credentialHeaders are the request headers whose values the proxy never
// stores: the ones model APIs and their gateways authenticate with.
// Besides these, any header whose name says key, token, secret, auth or
// cookie counts.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key", "Cookie", "Ocp-Apim-Subscription-Key"}

// minRedacted is the shortest value redacted: a shorter one (a scheme
// word, a flag) would rewrite ordinary text of the body.
const minRedacted = 8

// credentialValues returns the values of h's credential headers, each in
// full and, for "Scheme value" forms such as "Bearer sk-...", the value
// alone, with their JSON-escaped spellings when those differ; longest
// first, so that a value is replaced before a part of it.
func credentialValues(h http.Header) [][]byte {
	var out [][]byte
	add := func(v string) {
		v = strings.TrimSpace(v)
		if len(v) < minRedacted {
			return
		}
		out = append(out, []byte(v))
		if j, err := json.Marshal(v); err == nil && string(j[1:len(j)-1]) != v {
			out = append(out, j[1:len(j)-1])
		}
	}
	for name, vs := range h {
		if !isCredentialHeader(name) {
			continue
		}
		for _, v := range vs {
			add(v)
			if _, rest, ok := strings.Cut(strings.TrimSpace(v), " "); ok {
				add(rest)
			}
		}
	}
	slices.SortFunc(out, func(a, b []byte) int { return cmp.Compare(len(b), len(a)) })
	return out
}

func isCredentialHeader(name string) bool {
	for _, c := range credentialHeaders {
		if strings.EqualFold(name, c) {
			return true
		}
	}
	l := strings.ToLower(name)
	for _, w := range []string{"key", "token", "secret", "auth", "cookie"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// redactStream copies r to w with every occurrence of a value replaced by
// Redacted, and returns how many it replaced. It holds at most one block
// and the longest value in memory.
func redactStream(w io.Writer, r io.Reader, values [][]byte) (int, error) {
	longest := 0
	for _, v := range values {
		longest = max(longest, len(v))
	}
	const block = 256 << 10
	buf := make([]byte, 0, block+longest)
	count := 0
	eof := false
	for !eof {
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			eof = true
		} else if err != nil {
			return count, err
		}
		// Replace, then keep back what may be the start of a value cut by
		// the end of the block.
		out, k := replaceAll(buf, values)
		count += k
		keep := 0
		if !eof {
			keep = min(len(out), longest-1)
		}
		if _, err := w.Write(out[:len(out)-keep]); err != nil {
			return count, err
		}
		buf = append(buf[:0], out[len(out)-keep:]...)
	}
	return count, nil
}

// replaceAll replaces every value in b with Redacted.
func replaceAll(b []byte, values [][]byte) ([]byte, int) {
	n := 0
	for _, v := range values {
		if k := bytes.Count(b, v); k > 0 {
			n += k
			b = bytes.ReplaceAll(b, v, []byte(Redacted))
		}
	}
	return b, n
}

// redactFile rewrites the recorded body with the values redacted: in
// memory, or into a new temporary file in dir (the old one is removed).
func redactFile(file referrer.OutputFile, values [][]byte, dir string) (referrer.OutputFile, int, error) {
	if len(values) == 0 {
		return file, 0, nil
	}
	if file.Path == "" {
		out, n := replaceAll(bytes.Clone(file.Data), values)
		file.Data = out
		return file, n, nil
	}
	in, err := os.Open(file.Path)
	if err != nil {
		return file, 0, err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, "runid-proxy-redacted-*")
	if err != nil {
		return file, 0, err
	}
	n, err := redactStream(out, in, values)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return file, 0, err
	}
	os.Remove(file.Path)
	file.Path = out.Name()
	return file, n, nil
}

// scanBody scans the recorded body for credentials, as pack.Push scans a
// disclosed component of the same format: json as json, text (event
// streams included) as text; other media types are not scanned.
func scanBody(file referrer.OutputFile, base string) ([]scan.Finding, error) {
	format := mediatype.FormatText
	switch {
	case isJSON(base):
		format = mediatype.FormatJSON
	case strings.HasPrefix(base, "text/"):
	default:
		return nil, nil
	}
	var r io.Reader = bytes.NewReader(file.Data)
	if file.Path != "" {
		f, err := os.Open(file.Path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	fs, err := scan.Reader(r, fileName(base), format)
	if err != nil && format == mediatype.FormatJSON {
		// A body that says JSON and is not: scan its lines instead.
		if f, ok := r.(*os.File); ok {
			if _, serr := f.Seek(0, io.SeekStart); serr != nil {
				return nil, serr
			}
		} else {
			r = bytes.NewReader(file.Data)
		}
		return scan.Reader(r, fileName(base), mediatype.FormatText)
	}
	return fs, err
}
