package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPushScansTextFiles: push scans a text file for credentials as it
// hashes it, and refuses it naming the line, never the credential.
func TestPushScansTextFiles(t *testing.T) {
	dir := t.TempDir()
	key := "sk-" + "proj-" + strings.Repeat("Ab3d", 12) // assembled so that no scanner flags this file
	notes := strings.Repeat("a line of notes, nothing secret here\n", 50000) + "export OPENAI_API_KEY=" + key + "\n"
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(notes), 0o600); err != nil {
		t.Fatal(err)
	}
	decl := filepath.Join(dir, "runid.yaml")
	if err := os.WriteFile(decl, []byte(`runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: none
  system-prompt: none
  tools: none
  context: [{name: context/notes.txt, file: notes.txt}]
  input: [{name: q.txt, text: "Hi"}]
  config: none
  runtime: none
`), 0o600); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "runs")
	res := mustRun(t, exitError, "push", "--oci-layout", layout+":v1", decl)
	if !strings.Contains(res.stderr, "context/notes.txt line 50001: openai-api-key") {
		t.Errorf("stderr does not name the finding:\n%s", res.stderr)
	}
	if strings.Contains(res.stderr+res.stdout, key[8:24]) {
		t.Error("the credential is printed")
	}
	if blobs, _ := filepath.Glob(filepath.Join(layout, "blobs", "*", "*")); len(blobs) != 0 {
		t.Errorf("a refused push stored %d blobs", len(blobs))
	}
	mustRun(t, 0, "push", "--oci-layout", layout+":v1", decl, "--allow-secrets")
}
