package pack_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
)

// Credential-shaped test strings are assembled at run time from pieces, so
// that this repository holds none that a secret scanner would flag.
func repeat(s string, n int) string { return strings.Repeat(s, n) }

// fakeSecrets returns one fake credential per kind, with the line of text
// it sits in.
func fakeSecrets() []struct {
	kind   pack.SecretKind
	secret string // the credential itself: must never be reported
	line   string
} {
	awsID := "AK" + "IA" + "Q3EGRX7HZ5TVB2LM"
	awsSecret := "wJal" + "rXUtnFEMI/K7MDENG/bPxRfiCY" + "Q3EGRX7HZ5"
	openai := "sk-" + "proj-" + repeat("Ab3d", 12)
	anthropic := "sk-" + "ant-" + "api03-" + repeat("x9Yz", 20)
	github := "gh" + "p_" + repeat("aB1c", 9)
	githubPAT := "github" + "_pat_" + "11ABCDEFG0" + repeat("q7W", 20)
	slack := "xo" + "xb-" + "1234567890-0987654321-" + repeat("AbCd", 6)
	google := "AI" + "za" + "Sy" + repeat("B7x_", 8) + "k"
	stripe := "sk" + "_live_" + repeat("4eC39Hq", 4)
	pem := "-----BEGIN " + "RSA PRIVATE" + " KEY-----"
	openssh := "-----BEGIN " + "OPENSSH PRIVATE" + " KEY-----"
	jwt := "ey" + "JhbGciOiJIUzI1NiJ9" + ".ey" + "JzdWIiOiIxMjM0In0" + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	bearer := repeat("Zm9vYmFy", 3) + "42"
	pg := "hunter" + "2-Str0ng"
	return []struct {
		kind   pack.SecretKind
		secret string
		line   string
	}{
		{pack.SecretAWSAccessKeyID, awsID, "aws_access_key_id = " + awsID},
		{pack.SecretAWSSecretAccessKey, awsSecret, "aws_secret_access_key: " + awsSecret},
		{pack.SecretOpenAIKey, openai, "OPENAI_API_KEY=" + openai},
		{pack.SecretAnthropicKey, anthropic, "key: " + anthropic},
		{pack.SecretGitHubToken, github, "token " + github + " for CI"},
		{pack.SecretGitHubToken, githubPAT, "GH_TOKEN=" + githubPAT},
		{pack.SecretSlackToken, slack, "slack: " + slack},
		{pack.SecretGoogleAPIKey, google, "https://maps.example.com/api?key=" + google},
		{pack.SecretStripeKey, stripe, "stripe_key: " + stripe},
		{pack.SecretPrivateKey, pem, pem},
		{pack.SecretPrivateKey, openssh, openssh},
		{pack.SecretJWT, jwt, "session=" + jwt},
		{pack.SecretBearerToken, bearer, "Authorization: Bearer " + bearer},
		{pack.SecretBearerToken, bearer, `curl -H "authorization: bearer ` + bearer + `" https://api.example.com`},
		{pack.SecretConnectionPassword, pg, "DATABASE_URL=postgres://app:" + pg + "@db.internal:5432/app"},
		{pack.SecretConnectionPassword, pg, "redis: rediss://default:" + pg + "@cache:6380"},
		{pack.SecretConnectionPassword, pg, "Server=sql1;Database=app;User Id=app;Password=" + pg + ";"},
	}
}

func TestScanReaderFindsEachKind(t *testing.T) {
	covered := map[pack.SecretKind]bool{}
	for _, tc := range fakeSecrets() {
		covered[tc.kind] = true
		t.Run(string(tc.kind)+"/"+tc.line[:min(12, len(tc.line))], func(t *testing.T) {
			text := "first line\n\n" + tc.line + "\nlast line\n"
			fs, err := pack.ScanReader(strings.NewReader(text), "notes.md", mediatype.FormatText)
			if err != nil {
				t.Fatal(err)
			}
			want := pack.Finding{Component: "notes.md", Line: 3, Kind: tc.kind}
			if !slices.Contains(fs, want) {
				t.Fatalf("findings %v, want %v", fs, want)
			}
			for _, f := range fs {
				if f.Line != 3 {
					t.Errorf("finding on line %d: %v", f.Line, f)
				}
				if strings.Contains(f.String(), tc.secret) {
					t.Errorf("finding %q shows the secret", f)
				}
			}

			// The same secret in a JSON string is found at its pointer.
			js := `{"env":{"notes":` + jsonString(tc.line) + `},"list":[1]}`
			fs, err = pack.ScanReader(strings.NewReader(js), "config.json", mediatype.FormatJSON)
			if err != nil {
				t.Fatal(err)
			}
			want = pack.Finding{Component: "config.json", Pointer: "/env/notes", Kind: tc.kind}
			if !slices.Contains(fs, want) {
				t.Errorf("JSON findings %v, want %v", fs, want)
			}
		})
	}
	for _, k := range pack.SecretKinds() {
		if !covered[k] {
			t.Errorf("kind %s has no test case", k)
		}
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func TestScanReaderJSONContext(t *testing.T) {
	awsSecret := "wJal" + "rXUtnFEMI/K7MDENG/bPxRfiCY" + "Q3EGRX7HZ5"
	tests := []struct {
		name string
		json string
		want []pack.Finding
	}{
		{"member name gives context", `{"creds":[{"aws_secret_access_key":"` + awsSecret + `"}]}`,
			[]pack.Finding{{Component: "c.json", Pointer: "/creds/0/aws_secret_access_key", Kind: pack.SecretAWSSecretAccessKey}}},
		{"no context, no finding", `{"creds":[{"checksum":"` + awsSecret + `"}]}`, nil},
		{"pointer escapes", `{"a/b":{"m~n":"Bearer ` + repeat("Zm9vYmFy", 3) + `42"}}`,
			[]pack.Finding{{Component: "c.json", Pointer: "/a~1b/m~0n", Kind: pack.SecretBearerToken}}},
		{"password member without a connection string", `{"password":"hunter2-Str0ng"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pack.ScanReader(strings.NewReader(tc.json), "c.json", mediatype.FormatJSON)
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
		"oci://registry.example.com/models/llama@sha256:" + repeat("4693bcc1", 8),
		"https://docs.example.com:8443/a@b",
		"Use scikit-learn (sk-learn) for the baseline.",
		"The key is stored under the name OPENAI_API_KEY in the vault.",
		"-----BEGIN PUBLIC KEY-----",
		"task-" + repeat("abcd1234", 5),
		"Reset your password from the sign-in page.",
	}
	for _, line := range lines {
		t.Run(line[:min(24, len(line))], func(t *testing.T) {
			fs, err := pack.ScanReader(strings.NewReader(line+"\n"), "x.txt", mediatype.FormatText)
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
	token := "gh" + "p_" + repeat("aB1c", 9)
	// A line many times longer than a scan window, with the token across a
	// window boundary, then a short line with another.
	long := repeat("lorem ipsum ", 64<<10/12-3) + token + repeat(" dolor", 20000)
	text := long + "\n" + "second " + token + "\n"
	fs, err := pack.ScanReader(strings.NewReader(text), "big.txt", mediatype.FormatText)
	if err != nil {
		t.Fatal(err)
	}
	want := []pack.Finding{
		{Component: "big.txt", Line: 1, Kind: pack.SecretGitHubToken},
		{Component: "big.txt", Line: 2, Kind: pack.SecretGitHubToken},
	}
	if !slices.Equal(fs, want) {
		t.Errorf("findings %v, want %v", fs, want)
	}
	if fs, _ := pack.ScanReader(strings.NewReader(text), "big.bin", mediatype.FormatBinary); len(fs) != 0 {
		t.Errorf("binary components are not scanned, got %v", fs)
	}
}

// TestScanExamplesClean: the shipped examples hold no credential.
func TestScanExamplesClean(t *testing.T) {
	for _, decl := range exampleDecls(t) {
		t.Run(filepath.Base(filepath.Dir(decl)), func(t *testing.T) {
			fs, err := pack.Scan(t.Context(), load(t, decl), pack.ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 0 {
				t.Errorf("false alarm on a shipped example: %v", fs)
			}
		})
	}
}

// secretRun writes a run whose config (a YAML file) holds a credential on
// line 3, and returns the declaration and the credential.
func secretRun(t testing.TB, withheld bool) (decl, secret string) {
	t.Helper()
	dir := t.TempDir()
	secret = "sk-" + "proj-" + repeat("Ab3d", 12)
	writeFile(t, filepath.Join(dir, "agent.yaml"), []byte("agent: support\nretries: 2\nopenai_key: "+secret+"\n"))
	w := ""
	if withheld {
		w = ", withheld: true"
	}
	decl = filepath.Join(dir, "runid.yaml")
	writeFile(t, decl, []byte(`runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: none
  system-prompt: none
  tools: none
  context: none
  input: [{name: q.txt, text: "Hello"}]
  config: [{name: config/agent.yaml, file: agent.yaml`+w+`}]
  runtime: none
`))
	return decl, secret
}

func TestPushRefusesSecrets(t *testing.T) {
	decl, secret := secretRun(t, false)
	c := load(t, decl)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, layout := testutil.NewLayout(t)
	_, err := pack.Push(t.Context(), store, c, pack.PushOptions{Tag: "v1", Logger: log})
	if !errors.Is(err, pack.ErrSecretFound) {
		t.Fatalf("push: %v, want ErrSecretFound", err)
	}
	var se *pack.SecretsError
	if !errors.As(err, &se) {
		t.Fatalf("%T is not a *SecretsError", err)
	}
	want := []pack.Finding{{Component: "config/agent.yaml", Line: 3, Kind: pack.SecretOpenAIKey}}
	if !slices.Equal(se.Findings, want) {
		t.Errorf("findings %v, want %v", se.Findings, want)
	}
	for _, s := range []string{"config/agent.yaml line 3: openai-api-key", "withheld: true", "--allow-secrets"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), secret[8:20]) {
		t.Error("the credential is in the error or the logs")
	}
	if !strings.Contains(logs.String(), "openai-api-key") {
		t.Errorf("the finding was not logged:\n%s", logs.String())
	}
	assertLayoutEmpty(t, layout)

	t.Run("override", func(t *testing.T) {
		res, err := pack.Push(t.Context(), store, c, pack.PushOptions{Tag: "v1", AllowSecrets: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Descriptor.Digest != c.Digest() {
			t.Errorf("pushed %s, want %s", res.Descriptor.Digest, c.Digest())
		}
	})
	t.Run("withheld component", func(t *testing.T) {
		decl, secret := secretRun(t, true)
		c, err := pack.Load(t.Context(), decl, pack.BuildOptions{WithholdSecret: withholdSecret(t)})
		if err != nil {
			t.Fatal(err)
		}
		store, layout := testutil.NewLayout(t)
		if _, err := pack.Push(t.Context(), store, c, pack.PushOptions{Tag: "v1"}); err != nil {
			t.Fatalf("a withheld component holding a credential was refused: %v", err)
		}
		for _, b := range layoutBlobs(t, layout) {
			p := filepath.Join(layout, "blobs", strings.Replace(b, ":", string(filepath.Separator), 1))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("blob %s holds the credential", b)
			}
		}
	})
}

// TestScanInMemoryMatchesScanReader checks Scan, which rules out a
// component held in memory by looking for the detectors' keywords first,
// against ScanReader on the same bytes: every fake credential, in a text,
// a yaml and two json components (as a value and as a member name), in
// its case and upper-cased, is found exactly as ScanReader finds it; clean
// components give nothing.
func TestScanInMemoryMatchesScanReader(t *testing.T) {
	lines := []string{"nothing here", "see https://example.com/docs", "a password is needed", "Bearer of news"}
	for _, tc := range fakeSecrets() {
		lines = append(lines, tc.line, strings.ToUpper(tc.line), "x"+tc.line+"x")
	}
	found := 0
	for _, line := range lines {
		var run pack.Run
		run.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]string{"provider": "p", "name": "m"}))
		run.Add(mediatype.RoleInput,
			pack.Text("input/notes.md", "intro\n\n"+line+"\nend\n"),
			pack.JSON("input/value.json", map[string]any{"env": map[string]any{"notes": line, "n": 1}}),
			pack.JSON("input/name.json", map[string]any{line: []string{"v"}}))
		run.Add(mediatype.RoleConfig, pack.YAML("config/c.yaml", []byte("x: 1\nnote: "+jsonString(line)+"\n")))
		run.None(mediatype.RoleParameters, mediatype.RoleSystemPrompt, mediatype.RoleTools, mediatype.RoleContext, mediatype.RoleRuntime)
		c, err := run.Compose(t.Context(), pack.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := pack.Scan(t.Context(), c, pack.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var want []pack.Finding
		for _, comp := range c.Components {
			_, format, _ := mediatype.ParseComponent(comp.MediaType)
			rc, err := comp.Open()
			if err != nil {
				t.Fatal(err)
			}
			fs, err := pack.ScanReader(rc, comp.Name, format)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, fs...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%.40q: Scan found %v, ScanReader %v", line, got, want)
		}
		if len(want) > 0 {
			found++
		}
	}
	if found < len(fakeSecrets()) {
		t.Errorf("findings for %d lines of %d", found, len(lines))
	}
}
