package proxy_test

import (
	"bytes"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/pack/capture"
	"github.com/runid/runid-oci/pack/capture/proxy"
)

// TestEchoedCredentialsRedacted: an upstream that echoes the request's
// credential headers in its body and request ID gets none of them stored:
// the record says where they were redacted, and neither the layout nor
// the logs hold them.
func TestEchoedCredentialsRedacted(t *testing.T) {
	key := "sk-" + "proj-" + strings.Repeat("Zx9q", 12)
	other := "k3y-" + strings.Repeat("Qw7e", 6) // no detector knows this shape
	hs := newHarness(t, nil, proxy.Options{})
	path, body := request(capture.FormatOpenAIChat, "hi", false)
	res, b := hs.post(path, body, map[string]string{"Authorization": "Bearer " + key, "X-Api-Key": other, "X-Test-Echo": "1"})
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), key) {
		t.Fatalf("status %d; the client gets the upstream's answer as sent: %s", res.StatusCode, b)
	}
	hs.shutdown()
	id := res.Header.Get("Runid-Identity")
	recs := outputs(t, hs.store, id)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	n := recs[0]
	file := string(fileOf(t, hs.store, n))
	if strings.Contains(file, key) || strings.Contains(file, other) || !strings.Contains(file, proxy.Redacted) {
		t.Errorf("recorded body not redacted: %s", file)
	}
	if got := fact(n, proxy.FactRedacted); got == "" || got == "0" {
		t.Errorf("fact %s = %q, want a count", proxy.FactRedacted, got)
	}
	if rid := fact(n, proxy.FactUpstreamRequestID); strings.Contains(rid, key) {
		t.Errorf("request ID fact holds the key: %q", rid)
	}
	assertNowhere(t, hs, key, other)
}

// TestCredentialInResponseNotRecorded: a response body that holds what
// looks like a credential (not one of the request's) is scanned as a
// disclosed component is, and left out of the record, which says why
// without the credential.
func TestCredentialInResponseNotRecorded(t *testing.T) {
	token := "gh" + "p_" + strings.Repeat("aB1c", 9)
	hs := newHarness(t, nil, proxy.Options{})
	path, body := request(capture.FormatOpenAIChat, "hi", false)
	res, _ := hs.post(path, body, map[string]string{"X-Test-Leak": token})
	hs.shutdown()
	recs := outputs(t, hs.store, res.Header.Get("Runid-Identity"))
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	n := recs[0]
	if len(n.Files) != 0 {
		t.Errorf("the body was recorded: %v", n.Files)
	}
	if why := fact(n, proxy.FactWithheldBody); !strings.Contains(why, "github-token") {
		t.Errorf("fact %s = %q, want the finding", proxy.FactWithheldBody, why)
	}
	assertNowhere(t, hs, token)
}

// assertNowhere checks that no file of the harness's layout, nor its
// logs, holds any of the strings.
func assertNowhere(t *testing.T, hs *harness, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(hs.logs.String(), s) {
			t.Errorf("the logs hold a credential")
		}
		if grepDir(t, hs.dir, s) {
			t.Errorf("the layout holds a credential")
		}
	}
}

// grepDir reports whether any file below dir holds s.
func grepDir(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		found = found || bytes.Contains(b, []byte(s))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
