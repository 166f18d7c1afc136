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
	"github.com/runid/runid-oci/pack/scan"
)

// TestScanExamplesClean: the shipped examples hold no credential.
func TestScanExamplesClean(t *testing.T) {
	for _, decl := range exampleDecls(t) {
		t.Run(filepath.Base(filepath.Dir(decl)), func(t *testing.T) {
			fs, err := pack.Scan(t.Context(), load(t, decl), scan.Options{})
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
	secret = "sk-" + "proj-" + testutil.Repeat("Ab3d", 12)
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
	if !errors.Is(err, scan.ErrSecretFound) {
		t.Fatalf("push: %v, want ErrSecretFound", err)
	}
	var se *scan.SecretsError
	if !errors.As(err, &se) {
		t.Fatalf("%T is not a *SecretsError", err)
	}
	want := []scan.Finding{{Component: "config/agent.yaml", Line: 3, Kind: scan.SecretOpenAIKey}}
	if !slices.Equal(se.Findings, want) {
		t.Errorf("findings %v, want %v", se.Findings, want)
	}
	for _, s := range []string{"config/agent.yaml line 3: openai-api-key", "withheld: true", "allow it explicitly"} {
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
	for _, tc := range testutil.FakeSecrets() {
		lines = append(lines, tc.Line, strings.ToUpper(tc.Line), "x"+tc.Line+"x")
	}
	found := 0
	for _, line := range lines {
		var run pack.Run
		run.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]string{"provider": "p", "name": "m"}))
		run.Add(mediatype.RoleInput,
			pack.Text("input/notes.md", "intro\n\n"+line+"\nend\n"),
			pack.JSON("input/value.json", map[string]any{"env": map[string]any{"notes": line, "n": 1}}),
			pack.JSON("input/name.json", map[string]any{line: []string{"v"}}))
		run.Add(mediatype.RoleConfig, pack.YAML("config/c.yaml", []byte("x: 1\nnote: "+testutil.JSONString(line)+"\n")))
		run.None(mediatype.RoleParameters, mediatype.RoleSystemPrompt, mediatype.RoleTools, mediatype.RoleContext, mediatype.RoleRuntime)
		c, err := run.Compose(t.Context(), pack.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := pack.Scan(t.Context(), c, scan.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var want []scan.Finding
		for _, comp := range c.Components {
			_, format, _ := mediatype.ParseComponent(comp.MediaType)
			rc, err := comp.Open()
			if err != nil {
				t.Fatal(err)
			}
			fs, err := scan.Reader(rc, comp.Name, format)
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
	if found < len(testutil.FakeSecrets()) {
		t.Errorf("findings for %d lines of %d", found, len(lines))
	}
}

// TestPushCredentialAsMemberName: a credential used as a JSON member name
// is found, and neither push's error nor its logs hold it: the finding
// names the member by its index.
func TestPushCredentialAsMemberName(t *testing.T) {
	secret := "gh" + "p_" + testutil.Repeat("aB1c", 9)
	var run pack.Run
	run.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]string{"provider": "p", "name": "m"}))
	run.Add(mediatype.RoleInput, pack.JSON("input/tools.json", map[string]any{"a": 1, secret: map[string]any{"x": "y"}}))
	run.None(mediatype.RoleParameters, mediatype.RoleSystemPrompt, mediatype.RoleTools, mediatype.RoleContext, mediatype.RoleConfig, mediatype.RoleRuntime)
	c, err := run.Compose(t.Context(), pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, _ := testutil.NewLayout(t)
	_, err = pack.Push(t.Context(), store, c, pack.PushOptions{Logger: log})
	var se *scan.SecretsError
	if !errors.As(err, &se) {
		t.Fatalf("push: %v, want a *SecretsError", err)
	}
	want := []scan.Finding{{Component: "input/tools.json", Pointer: "/1", Kind: scan.SecretGitHubToken}}
	if !slices.Equal(se.Findings, want) {
		t.Errorf("findings %v, want %v", se.Findings, want)
	}
	for _, s := range []string{err.Error(), logs.String()} {
		if strings.Contains(s, secret) || strings.Contains(s, secret[4:16]) {
			t.Errorf("the credential leaks: %s", s)
		}
	}
	if !strings.Contains(err.Error(), "input/tools.json at member path /1: github-token") {
		t.Errorf("error %q does not name the member path", err)
	}
}
