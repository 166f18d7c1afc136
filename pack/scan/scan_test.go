package scan_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
)

func TestScanReaderFindsEachKind(t *testing.T) {
	covered := map[scan.SecretKind]bool{}
	for _, tc := range testutil.FakeSecrets() {
		covered[tc.Kind] = true
		t.Run(string(tc.Kind)+"/"+tc.Line[:min(12, len(tc.Line))], func(t *testing.T) {
			text := "first line\n\n" + tc.Line + "\nlast line\n"
			fs, err := scan.Reader(strings.NewReader(text), "notes.md", mediatype.FormatText)
			if err != nil {
				t.Fatal(err)
			}
			want := scan.Finding{Component: "notes.md", Line: 3, Kind: tc.Kind}
			if !slices.Contains(fs, want) {
				t.Fatalf("findings %v, want %v", fs, want)
			}
			for _, f := range fs {
				if f.Line != 3 {
					t.Errorf("finding on line %d: %v", f.Line, f)
				}
				if strings.Contains(f.String(), tc.Secret) {
					t.Errorf("finding %q shows the secret", f)
				}
			}

			// The same secret in a JSON string is found at its pointer.
			js := `{"env":{"notes":` + testutil.JSONString(tc.Line) + `},"list":[1]}`
			fs, err = scan.Reader(strings.NewReader(js), "config.json", mediatype.FormatJSON)
			if err != nil {
				t.Fatal(err)
			}
			want = scan.Finding{Component: "config.json", Pointer: "/0/0", Kind: tc.Kind}
			if !slices.Contains(fs, want) {
				t.Errorf("JSON findings %v, want %v", fs, want)
			}
		})
	}
	for _, k := range scan.SecretKinds() {
		if !covered[k] {
			t.Errorf("kind %s has no test case", k)
		}
	}
}

func TestScanReaderJSONContext(t *testing.T) {
	awsSecret := "wJal" + "rXUtnFEMI/K7MDENG/bPxRfiCY" + "Q3EGRX7HZ5"
	tests := []struct {
		name string
		json string
		want []scan.Finding
	}{
		{"member name gives context", `{"creds":[{"aws_secret_access_key":"` + awsSecret + `"}]}`,
			[]scan.Finding{{Component: "c.json", Pointer: "/0/0/0", Kind: scan.SecretAWSSecretAccessKey}}},
		{"no context, no finding", `{"creds":[{"checksum":"` + awsSecret + `"}]}`, nil},
		{"member names are not in the path", `{"a/b":{"m~n":"Bearer ` + testutil.Repeat("Zm9vYmFy", 3) + `42"}}`,
			[]scan.Finding{{Component: "c.json", Pointer: "/0/0", Kind: scan.SecretBearerToken}}},
		{"password member without a connection string", `{"password":"hunter2-Str0ng"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scan.Reader(strings.NewReader(tc.json), "c.json", mediatype.FormatJSON)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScanReaderNoFalseAlarm(t *testing.T) {
	lines := []string{
		"postgres://app:${DB_PASSWORD}@db.internal:5432/app",
		"postgres://app:$DB_PASSWORD@db.internal/app",
		"mysql://root:<password>@localhost/db",
		"amqp://guest:***@rabbit:5672/",
		"mongodb://user:password@mongo/app",
		"redis://:{{ .Values.redis.password }}@cache",
		"Server=sql1;Database=app;User Id=app;Password=${SQL_PASSWORD};",
		"Authorization: Bearer <token>",
		"Authorization: Bearer ${API_TOKEN}",
		"Authorization: Bearer YOUR_API_TOKEN_HERE",
		"The API uses bearer authentication; send your token in a header.",
		`{"token_type": "bearer", "expires_in": 3600}`,
		"oci://registry.example.com/models/llama@sha256:" + testutil.Repeat("4693bcc1", 8),
		"https://docs.example.com:8443/a@b",
		"Use scikit-learn (sk-learn) for the baseline.",
		"The key is stored under the name OPENAI_API_KEY in the vault.",
		"-----BEGIN PUBLIC KEY-----",
		"task-" + testutil.Repeat("abcd1234", 5),
		"Reset your password from the sign-in page.",
		// Near misses of each detector that AI teams' files hold.
		"hf_" + "hub_download_cache_dir = ~/.cache/huggingface",
		"HF_" + "HOME=/data/hf",
		"hf_" + testutil.Repeat("abcdefghij", 3) + "abcd", // one case only: an identifier, not a token
		"WANDB_PROJECT=" + testutil.Repeat("0a1b2c3d4e", 4)[:12],
		"wandb_run_id: " + testutil.Repeat("0a1b2c3d4e", 4)[:39], // 39 hex digits
		"AZURE_OPENAI_ENDPOINT=https://myres.openai.azure.com/",
		"azure_key: " + testutil.Repeat("0", 32), // digits only
		"AIza" + "Sy is how Google API keys begin.",
		"xox" + "b- is the prefix of a Slack bot token",
		"sk" + "_test_" + testutil.Repeat("4eC39Hq", 4), // a test key, not a live one
		"pk" + "_live_" + testutil.Repeat("4eC39Hq", 4), // publishable, meant to be public
	}
	for _, line := range lines {
		t.Run(line[:min(24, len(line))], func(t *testing.T) {
			fs, err := scan.Reader(strings.NewReader(line+"\n"), "x.txt", mediatype.FormatText)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 0 {
				t.Errorf("false alarm: %v", fs)
			}
		})
	}
}

func TestScanReaderLongLines(t *testing.T) {
	token := "gh" + "p_" + testutil.Repeat("aB1c", 9)
	// A line many times longer than a scan window, with the token across a
	// window boundary, then a short line with another.
	long := testutil.Repeat("lorem ipsum ", 64<<10/12-3) + token + testutil.Repeat(" dolor", 20000)
	text := long + "\n" + "second " + token + "\n"
	fs, err := scan.Reader(strings.NewReader(text), "big.txt", mediatype.FormatText)
	if err != nil {
		t.Fatal(err)
	}
	want := []scan.Finding{
		{Component: "big.txt", Line: 1, Kind: scan.SecretGitHubToken},
		{Component: "big.txt", Line: 2, Kind: scan.SecretGitHubToken},
	}
	if !slices.Equal(fs, want) {
		t.Errorf("findings %v, want %v", fs, want)
	}
	if fs, _ := scan.Reader(strings.NewReader(text), "big.bin", mediatype.FormatBinary); len(fs) != 0 {
		t.Errorf("binary components are not scanned, got %v", fs)
	}
}

// TestScanYAMLAsParsed: a key split over lines of a double-quoted scalar
// (a backslash continues it), or spelled with escapes, is found where the
// scalar begins; the line scan sees none of it.
func TestScanYAMLAsParsed(t *testing.T) {
	key := "sk-" + "proj-" + testutil.Repeat("Ab3d", 12)
	hexed := ""
	for _, c := range []byte(key[:8]) {
		hexed += fmt.Sprintf(`\x%02x`, c)
	}
	for name, tc := range map[string]struct {
		yaml      string
		line, col int
	}{
		"continued": {"a: 1\nopenai: \"" + key[:10] + "\\\n  " + key[10:30] + "\\\n  " + key[30:] + "\"\n", 2, 9},
		"escaped":   {"list:\n  - \"" + hexed + key[8:] + "\"\n", 2, 5},
	} {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(tc.yaml, key) {
				t.Fatal("the test's yaml holds the key on one line")
			}
			if fs, _ := scan.Reader(strings.NewReader(tc.yaml), "c.txt", mediatype.FormatText); len(fs) != 0 {
				t.Fatalf("the lines alone give %v", fs)
			}
			fs, err := scan.Reader(strings.NewReader(tc.yaml), "c.yaml", mediatype.FormatYAML)
			if err != nil {
				t.Fatal(err)
			}
			want := []scan.Finding{{Component: "c.yaml", Line: tc.line, Column: tc.col, Kind: scan.SecretOpenAIKey}}
			if !slices.Equal(fs, want) {
				t.Errorf("findings %v, want %v", fs, want)
			}
		})
	}
}
