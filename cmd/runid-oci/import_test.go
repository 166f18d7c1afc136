package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// requestsDir holds the realistic request bodies.
var requestsDir = filepath.Join("..", "..", "testdata", "requests")

// importOutput is the JSON output of import.
type importOutput struct {
	Format      string   `json:"format"`
	Directory   string   `json:"directory"`
	Declaration string   `json:"declaration"`
	Files       []string `json:"files"`
	Digest      string   `json:"digest"`
	Warnings    []string `json:"warnings"`
}

// requestFormat is the format of a request body of testdata/requests,
// from its file name.
func requestFormat(t *testing.T, file string) string {
	t.Helper()
	base := filepath.Base(file)
	for _, f := range []string{"openai-chat", "openai-responses", "anthropic-messages"} {
		if strings.HasPrefix(base, f+".") || strings.HasPrefix(base, f+"-") {
			return f
		}
	}
	t.Fatalf("%s: no format in its name", base)
	return ""
}

func TestImport(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(requestsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no request bodies in %s: %v", requestsDir, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			format := requestFormat(t, file)
			dir := filepath.Join(t.TempDir(), "run")
			r := mustRun(t, 0, "import", format, file, "--dir", dir)
			decl := filepath.Join(dir, "runid.yaml")
			want := packDigest(t, decl)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if len(lines) != 2 || lines[1] != want {
				t.Errorf("text output %q, want the digest %s on the last line", r.stdout, want)
			}
			if !strings.HasPrefix(lines[0], "wrote "+decl+" and ") {
				t.Errorf("first line %q does not name %s", lines[0], decl)
			}
			if r.stderr != "" && !strings.HasPrefix(r.stderr, "warning: ") {
				t.Errorf("stderr: %q", r.stderr)
			}
			if got := strings.TrimSpace(mustRun(t, 0, "digest", decl).stdout); got != want {
				t.Errorf("digest of the declaration written: %s, want %s", got, want)
			}

			out := decodeJSON[importOutput](t, mustRun(t, 0, "import", "-o", "json", "--force", format, file, "--dir", dir).stdout)
			if out.Digest != want || out.Format != format || out.Declaration != decl || out.Directory != dir {
				t.Errorf("json output %+v", out)
			}
			if len(out.Files) < 3 || out.Warnings == nil {
				t.Errorf("json output lists files %q, warnings %v", out.Files, out.Warnings)
			}
			for _, f := range out.Files {
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
					t.Errorf("listed file %s: %v", f, err)
				}
			}
		})
	}
}

func TestImportStdinAndProvider(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(requestsDir, "openai-chat.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"import", "openai-chat", "-", "--dir", dir, "--provider", "azure-openai"},
		bytes.NewReader(body), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var model map[string]string
	data, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &model); err != nil {
		t.Fatal(err)
	}
	if model["provider"] != "azure-openai" || model["name"] != "gpt-4o-2024-08-06" {
		t.Errorf("model.json = %v", model)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if got, want := lines[len(lines)-1], packDigest(t, filepath.Join(dir, "runid.yaml")); got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
}

// TestImportCredentials: credentials in the body are named in warnings on
// stderr, never with their values, and are in no file written.
func TestImportCredentials(t *testing.T) {
	const value = "IMPORT-TEST-CREDENTIAL-VALUE-4f2a"
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"api_key":"` + value +
		`","metadata":{"OpenAI-Organization":"` + value + `","app":"x"}}`
	file := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := mustRun(t, 0, "import", "openai-chat", file, "--dir", dir)
	for _, name := range []string{`"api_key"`, `"metadata.OpenAI-Organization"`} {
		if !strings.Contains(r.stderr, "warning: dropped "+name) {
			t.Errorf("stderr does not name %s:\n%s", name, r.stderr)
		}
	}
	if strings.Contains(r.stderr+r.stdout, value) {
		t.Error("output discloses the credential")
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte(value)) {
			t.Errorf("%s holds the credential", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := decodeJSON[importOutput](t, mustRun(t, 0, "import", "-o", "json", "--force", "openai-chat", file, "--dir", dir).stdout)
	if len(out.Warnings) != 2 {
		t.Errorf("json warnings %q, want 2", out.Warnings)
	}
}

func TestImportErrors(t *testing.T) {
	good := filepath.Join(requestsDir, "anthropic-messages.json")
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"model":"a","model":"b"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	existing := t.TempDir()
	mustRun(t, 0, "import", "anthropic-messages", good, "--dir", existing)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown format", []string{"import", "gemini", good, "--dir", tmp}, exitUsage, "want one of openai-chat, openai-responses, anthropic-messages"},
		{"no dir", []string{"import", "anthropic-messages", good}, exitUsage, "--dir is required"},
		{"one argument", []string{"import", "anthropic-messages", "--dir", tmp}, exitUsage, "takes 2 argument(s)"},
		{"unknown flag", []string{"import", "anthropic-messages", good, "--dir", tmp, "--overwrite"}, exitUsage, "unknown flag"},
		{"missing request", []string{"import", "anthropic-messages", filepath.Join(tmp, "missing.json"), "--dir", tmp}, exitError, "read request"},
		{"request is a directory", []string{"import", "anthropic-messages", tmp, "--dir", t.TempDir()}, exitError, "read request"},
		{"invalid request", []string{"import", "openai-chat", bad, "--dir", t.TempDir()}, exitError, "invalid request body"},
		{"existing files", []string{"import", "anthropic-messages", good, "--dir", existing}, exitError, "--force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, tt.code, tt.args...)
			if !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("stderr does not say %q:\n%s", tt.msg, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
		})
	}
}
