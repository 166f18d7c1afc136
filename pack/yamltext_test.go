package pack_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// A yaml component that is not UTF-8 is refused with the line and column
// of its first invalid byte, like a json or text component.
func TestYAMLComponentInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	decl := "runid: \"1\"\nroles:\n  model: none\n  parameters: none\n  system-prompt: none\n  tools: none\n  context: none\n  input: none\n" +
		"  config:\n    - name: config/agent.yaml\n      file: agent.yaml\n  runtime: none\n"
	for name, data := range map[string]string{"runid.yaml": decl, "agent.yaml": "loop: 3\nname: \"ag\xffent\"\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := pack.Load(context.Background(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{})
	if !errors.Is(err, spec.ErrInvalidFormat) || !strings.Contains(err.Error(), "line 2, column 10: not valid UTF-8") {
		t.Fatalf("got %v, want the yaml file refused at line 2, column 10", err)
	}
}
