package scan_test

import (
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
			want = scan.Finding{Component: "config.json", Pointer: "/env/notes", Kind: tc.Kind}
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
			[]scan.Finding{{Component: "c.json", Pointer: "/creds/0/aws_secret_access_key", Kind: scan.SecretAWSSecretAccessKey}}},
		{"no context, no finding", `{"creds":[{"checksum":"` + awsSecret + `"}]}`, nil},
		{"pointer escapes", `{"a/b":{"m~n":"Bearer ` + testutil.Repeat("Zm9vYmFy", 3) + `42"}}`,
			[]scan.Finding{{Component: "c.json", Pointer: "/a~1b/m~0n", Kind: scan.SecretBearerToken}}},
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
