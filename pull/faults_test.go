package pull_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

// victim is the component whose blob the fault handlers tamper with.
func victim(t testing.TB, c *pack.Composition) pack.Component {
	t.Helper()
	for _, comp := range c.Components {
		if comp.Role == mediatype.RoleInput {
			return comp
		}
	}
	t.Fatal("no input component")
	return pack.Component{}
}

// flip returns b with its first byte changed: same size, other digest.
func flip(b []byte) []byte {
	out := bytes.Clone(b)
	out[0] ^= 0x20
	return out
}

// serveEndless answers 200 without a Content-Length and streams until the
// client goes away (or 64 MiB, so that a broken client cannot hang the test).
func serveEndless(w http.ResponseWriter, r *http.Request, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for range 2048 {
		if _, err := w.Write(chunk); err != nil || r.Context().Err() != nil {
			return
		}
	}
}

// TestLyingRegistry puts a fault handler in front of real registries that
// serves other bytes than the digests say, lies in Docker-Content-Digest,
// or never ends a body. Verify and Pull must fail with the right check (or
// ErrTooLarge), never trust the lie, and leave the directory as it was.
func TestLyingRegistry(t *testing.T) {
	comp := testutil.LoadExample(t, "minimal")
	v := victim(t, comp)
	cfg := comp.Identity.ConfigDescriptor()
	mdigest := comp.Digest()
	var indented bytes.Buffer
	if err := json.Indent(&indented, comp.Identity.ManifestBytes, "", "  "); err != nil {
		t.Fatal(err)
	}

	for _, reg := range registries {
		for _, tc := range []struct {
			name    string
			ref     string
			fault   faultFunc
			checks  []string // failed checks wanted, or
			wantErr error    // a could-not-check error wanted
			// served is the digest of the manifest bytes served: the
			// report's digest, whatever the source claims.
			served   digest.Digest
			noDigest bool // the manifest was not read whole: no digest
		}{
			{name: "blob other bytes", ref: tag, checks: []string{"blob-digest"},
				fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isBlobGet(r, v.Digest) {
						return false
					}
					rec := record(next, r)
					replay(w, rec, flip(rec.Body.Bytes()), false)
					return true
				}},
			{name: "blob longer without length", ref: tag, checks: []string{"blob-size"},
				fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isBlobGet(r, v.Digest) {
						return false
					}
					rec := record(next, r)
					replay(w, rec, append(rec.Body.Bytes(), "more"...), true)
					return true
				}},
			{name: "blob endless without length", ref: tag, checks: []string{"blob-size"},
				fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isBlobGet(r, v.Digest) {
						return false
					}
					serveEndless(w, r, "application/octet-stream")
					return true
				}},
			{name: "identity document other bytes", ref: tag, checks: []string{"config-digest"},
				fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isBlobGet(r, cfg.Digest) {
						return false
					}
					rec := record(next, r)
					replay(w, rec, flip(rec.Body.Bytes()), false)
					return true
				}},
			{name: "manifest other bytes by tag", ref: tag, checks: []string{"manifest-digest"}, served: digest.FromBytes(indented.Bytes()),
				fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isManifest(r, tag) {
						return false
					}
					replay(w, record(next, r), indented.Bytes(), false)
					return true
				}},
			{name: "manifest other bytes by digest", ref: mdigest.String(), checks: []string{"manifest-digest"}, served: digest.FromBytes(indented.Bytes()),
				fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isManifest(r, mdigest.String()) {
						return false
					}
					replay(w, record(next, r), indented.Bytes(), false)
					return true
				}},
			{name: "digest header lies on tag", ref: tag, checks: []string{"manifest-digest"},
				fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isManifest(r, tag) {
						return false
					}
					rec := record(next, r)
					rec.Header().Set("Docker-Content-Digest", digest.FromString("a lie").String())
					replay(w, rec, rec.Body.Bytes(), false)
					return true
				}},
			// A manifest over the cap is a verdict (spec/SPEC.md §6.2 step 1);
			// no digest is computed from a body that was not read whole.
			{name: "manifest endless without length", ref: tag, checks: []string{"manifest-size"}, noDigest: true,
				fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isManifest(r, tag) || r.Method != http.MethodGet {
						return false
					}
					serveEndless(w, r, "application/vnd.oci.image.manifest.v1+json")
					return true
				}},
		} {
			t.Run(reg.Name+"/"+tc.name, func(t *testing.T) {
				ctx := t.Context()
				faulty, clean := startFaulty(t, reg.Handler(t), tc.fault)
				testutil.Push(t, clean, comp, tag)

				rep, err := pull.Verify(ctx, faulty, tc.ref, pull.VerifyOptions{})
				if tc.wantErr != nil {
					var ve *pull.VerificationError
					if !errors.Is(err, tc.wantErr) || errors.As(err, &ve) {
						t.Fatalf("verify error = %v, want %v", err, tc.wantErr)
					}
				} else {
					testutil.WantVerificationError(t, err, tc.checks...)
					wantFailedChecks(t, rep, tc.checks...)
					served := cmp.Or(tc.served, mdigest)
					if tc.noDigest {
						served = ""
					}
					if rep.Digest != served {
						t.Errorf("report digest = %s, want %s, the digest of the bytes served", rep.Digest, served)
					}
				}

				parent := t.TempDir()
				before := snapshot(t, parent)
				_, err = pull.Pull(ctx, faulty, tc.ref, filepath.Join(parent, "out"), pull.PullOptions{})
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("pull error = %v, want %v", err, tc.wantErr)
					}
				} else {
					testutil.WantVerificationError(t, err, tc.checks...)
				}
				assertUnchanged(t, parent, before)
			})
		}
	}
}

// TestDigestHeaderIgnored checks that the digest of a tag is the hash of
// the manifest bytes, not what a header says, when the header is absent.
func TestDigestHeaderIgnored(t *testing.T) {
	comp := testutil.LoadExample(t, "minimal")
	for _, reg := range registries {
		t.Run(reg.Name, func(t *testing.T) {
			faulty, clean := startFaulty(t, reg.Handler(t), func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				if !isManifest(r, tag) || r.Method != http.MethodGet {
					return false
				}
				rec := record(next, r)
				rec.Header().Del("Docker-Content-Digest")
				replay(w, rec, rec.Body.Bytes(), false)
				return true
			})
			testutil.Push(t, clean, comp, tag)
			res, err := pull.Resolve(t.Context(), faulty, tag, pull.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Descriptor.Digest != comp.Digest() || !bytes.Equal(res.ManifestBytes, comp.Identity.ManifestBytes) ||
				res.Descriptor.ArtifactType != mediatype.Identity {
				t.Errorf("resolved %+v, want %s", res.Descriptor, comp.Digest())
			}
		})
	}
}

// breakConn answers with the headers and half the body of the real
// response, then closes the connection: with a FIN ("cut", the client sees
// an unexpected EOF) or, after giving the client time to read what was
// sent, with a RST ("reset", connection reset by peer).
func breakConn(t testing.TB, w http.ResponseWriter, body []byte, reset bool) {
	conn, bufrw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	fmt.Fprintf(bufrw, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(body))
	bufrw.Write(body[:len(body)/2])
	bufrw.Flush()
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		time.Sleep(50 * time.Millisecond)
		tcp.SetLinger(0)
	}
	conn.Close()
}

// TestBlobFetchRetries breaks a blob fetch in the middle (connection cut
// or reset) or answers 503, once or always: a transient fault is retried
// within a bound and the pull succeeds; a permanent one fails cleanly with
// the transport error, after the bounded number of attempts.
func TestBlobFetchRetries(t *testing.T) {
	comp := testutil.LoadExample(t, "rag-agent")
	v := victim(t, comp)
	want := testutil.ComponentBytes(t, v)
	// fastRetry makes oras-go's client retry a 503 (or a reset before the
	// response) twice per request.
	const perFetch = 3
	transportErr := func(err error) bool {
		return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
	}
	for _, reg := range registries {
		for _, tc := range []struct {
			name     string
			plan     []string // fault per attempt, then always
			always   string
			attempts [2]int64 // bounds
			wantErr  func(error) bool
		}{
			{name: "cut once", plan: []string{"cut"}, attempts: [2]int64{2, 2}},
			{name: "reset once", plan: []string{"reset"}, attempts: [2]int64{2, 2}},
			{name: "503 once", plan: []string{"503"}, attempts: [2]int64{2, 2}},
			{name: "cut then 503", plan: []string{"cut", "503"}, attempts: [2]int64{3, 3}},
			{name: "cut three times", plan: []string{"cut", "cut", "cut"}, attempts: [2]int64{4, 4}},
			{name: "cut always", always: "cut", attempts: [2]int64{1 + pull.FetchRetriesForTest, 1 + pull.FetchRetriesForTest}, wantErr: transportErr},
			{name: "reset always", always: "reset", attempts: [2]int64{1 + pull.FetchRetriesForTest, (1 + pull.FetchRetriesForTest) * perFetch}, wantErr: transportErr},
			{name: "503 always", always: "503", attempts: [2]int64{(1 + pull.FetchRetriesForTest) * perFetch, (1 + pull.FetchRetriesForTest) * perFetch},
				wantErr: func(err error) bool {
					var er *errcode.ErrorResponse
					return errors.As(err, &er) && er.StatusCode == http.StatusServiceUnavailable
				}},
		} {
			t.Run(reg.Name+"/"+tc.name, func(t *testing.T) {
				var attempts atomic.Int64
				faulty, clean := startFaulty(t, reg.Handler(t), func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isBlobGet(r, v.Digest) {
						return false
					}
					n := int(attempts.Add(1))
					fault := tc.always
					if n <= len(tc.plan) {
						fault = tc.plan[n-1]
					}
					switch fault {
					case "cut", "reset":
						breakConn(t, w, record(next, r).Body.Bytes(), fault == "reset")
					case "503":
						w.WriteHeader(http.StatusServiceUnavailable)
					default:
						return false
					}
					return true
				})
				fastRetry(faulty)
				testutil.Push(t, clean, comp, tag)

				parent := t.TempDir()
				dir := filepath.Join(parent, "out")
				before := snapshot(t, parent)
				rep, err := pull.Pull(t.Context(), faulty, tag, dir, pull.PullOptions{})
				if got := attempts.Load(); got < tc.attempts[0] || got > tc.attempts[1] {
					t.Errorf("blob fetched %d times, want %d to %d", got, tc.attempts[0], tc.attempts[1])
				}
				if tc.wantErr == nil {
					if err != nil || !rep.Verified {
						t.Fatalf("pull: %v", err)
					}
					got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(v.Name)))
					if err != nil || !bytes.Equal(got, want) {
						t.Errorf("%s = %q, %v; want the component bytes", v.Name, got, err)
					}
					return
				}
				var ve *pull.VerificationError
				if err == nil || errors.As(err, &ve) || !tc.wantErr(err) {
					t.Fatalf("pull error = %v (%T), want the transport error", err, err)
				}
				assertUnchanged(t, parent, before)
			})
		}
	}
}
