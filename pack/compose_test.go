package pack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// composeWriteTree writes files (path → content) below dir.
func composeWriteTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// composePDF stand for a binary context document: not UTF-8, with NULs.
var composePDF = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\xff\xfe<< /Type /Catalog >>\nendobj\n%%EOF\n"

// composeRichRun declares, in memory, a run with every format, every core role,
// several components per role and an extension role.
func composeRichRun() *pack.Run {
	var run pack.Run
	run.Add(mediatype.RoleRuntime, pack.JSON("runtime.json", map[string]any{
		"harness": map[string]string{"name": "northwind-support-harness", "version": "1.8.2"},
		"sdk":     map[string]string{"name": "openai", "version": "1.54.3"},
	}))
	run.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]string{
		"provider": "openai", "name": "gpt-4o", "version": "2024-08-06"}))
	run.Add(mediatype.RoleParameters, pack.JSON("parameters.json", struct {
		Temperature float64  `json:"temperature"`
		TopP        float64  `json:"top_p"`
		MaxTokens   int      `json:"max_tokens"`
		Stop        []string `json:"stop"`
	}{0.2, 0.9, 800, []string{"\n\nUser:"}}))
	run.Add(mediatype.RoleSystemPrompt, pack.Text("system-prompt/support-agent.md",
		"You are Northwind's support agent.\r\nBe brief — and kind.\n"))
	run.Add(mediatype.RoleTools,
		pack.JSON("tools/search.json", json.RawMessage(`{"type":"function","function":{"name":"search","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}`)),
		pack.JSON("tools/create_ticket.json", map[string]any{"type": "function", "function": map[string]any{"name": "create_ticket"}}))
	run.Add(mediatype.RoleContext,
		pack.Text("context/01-refund-policy.md", "# Refunds\n\nWithin 30 days.\n"),
		pack.YAML("context/02-faq.yaml", []byte("# FAQ\nshipping: 3-5 days\nreturns: [free, 30 days]\n")),
		pack.Binary("context/03-terms.pdf", []byte(composePDF)),
		pack.JSON("context/04-account.json", map[string]any{"tier": "gold", "since": "2019-04-01"}))
	run.Add(mediatype.RoleInput, pack.Text("input/question.txt", "Where is my order NW-20931?\n"))
	run.Add(mediatype.RoleConfig, pack.YAML("config/agent.yaml", []byte("max_turns: 8\nretrieval:\n  top_k: 4\n")))
	run.Add("com.example.guardrails",
		pack.YAML("guardrails/policy.yaml", []byte("deny: [medical, legal]\n")),
		pack.Text("guardrails/README.txt", "Policy v3"))
	return &run
}

// composeRichFiles is composeRichRun as a declaration and its files, written the way a
// person would: the shorthand, inline values, text in the declaration,
// files at other paths, JSON formatted and ordered differently.
var composeRichFiles = map[string]string{
	"runid.yaml": `# The run of composeRichRun, written by hand.
runid: "1"
roles:
  model: { provider: openai, name: gpt-4o, version: "2024-08-06" }
  parameters:
    - name: parameters.json
      inline: { max_tokens: 800, stop: ["\n\nUser:"], temperature: 0.2, top_p: 0.9 }
  system-prompt:
    - name: system-prompt/support-agent.md
      file: prompts/system.txt
  tools:
    - name: tools/search.json
      file: tools/search.json
    - name: tools/create_ticket.json
      file: tools/ticket.json
  context:
    - name: context/01-refund-policy.md
      file: docs/refunds.md
    - name: context/02-faq.yaml
      file: docs/faq.yaml
    - name: context/03-terms.pdf
      file: docs/terms.pdf
      format: binary
    - name: context/04-account.json
      file: docs/account.json
  input:
    - name: input/question.txt
      text: "Where is my order NW-20931?\n"
  config:
    - name: config/agent.yaml
      file: agent.yaml
  runtime:
    harness: { name: northwind-support-harness, version: "1.8.2" }
    sdk: { name: openai, version: "1.54.3" }
  com.example.guardrails:
    - name: guardrails/policy.yaml
      file: guardrails/policy.yaml
    - name: guardrails/README.txt
      file: guardrails/README
      format: text
`,
	"prompts/system.txt": "You are Northwind's support agent.\r\nBe brief — and kind.\n",
	"tools/search.json": `{
  "function": {
    "parameters": { "properties": { "q": { "type": "string" } }, "type": "object" },
    "name": "search"
  },
  "type": "function"
}
`,
	"tools/ticket.json":      `{"function": {"name": "create_ticket"}, "type": "function"}`,
	"docs/refunds.md":        "# Refunds\n\nWithin 30 days.\n",
	"docs/faq.yaml":          "# FAQ\nshipping: 3-5 days\nreturns: [free, 30 days]\n",
	"docs/terms.pdf":         composePDF,
	"docs/account.json":      "{ \"since\": \"2019-04-01\", \"tier\": \"gold\" }\n",
	"agent.yaml":             "max_turns: 8\nretrieval:\n  top_k: 4\n",
	"guardrails/policy.yaml": "deny: [medical, legal]\n",
	"guardrails/README":      "Policy v3",
}

// TestComposeEqualsFiles: declaring a run in memory and declaring it in
// files give the same identity, and WriteDir writes files that do too.
func TestComposeEqualsFiles(t *testing.T) {
	dir := t.TempDir()
	composeWriteTree(t, dir, composeRichFiles)
	fromFiles, err := pack.Load(t.Context(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	fromMemory, err := composeRichRun().Compose(t.Context(), pack.BuildOptions{})
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	if !bytes.Equal(fromMemory.Identity.DocumentBytes, fromFiles.Identity.DocumentBytes) {
		t.Errorf("identity documents differ:\nmemory %s\nfiles  %s", fromMemory.Identity.DocumentBytes, fromFiles.Identity.DocumentBytes)
	}
	if fromMemory.Digest() != fromFiles.Digest() {
		t.Fatalf("from memory %s, from files %s", fromMemory.Digest(), fromFiles.Digest())
	}
	if len(fromMemory.Components) != 14 {
		t.Errorf("%d components, want 14", len(fromMemory.Components))
	}
	for i, c := range fromMemory.Components {
		if c.Source != "inline" {
			t.Errorf("component %s has source %q, want inline", c.Name, c.Source)
		}
		if got, want := composeReadComponent(t, c), composeReadComponent(t, fromFiles.Components[i]); !bytes.Equal(got, want) {
			t.Errorf("component %s: bytes from memory %q, from files %q", c.Name, got, want)
		}
	}

	out := t.TempDir()
	res, err := composeRichRun().WriteDir(t.Context(), out, pack.WriteOptions{Comment: "written by a test\n\nsecond paragraph"})
	if err != nil {
		t.Fatalf("WriteDir: %v", err)
	}
	if res.Digest != fromMemory.Digest() {
		t.Errorf("WriteDir reports %s, want %s", res.Digest, fromMemory.Digest())
	}
	written, err := pack.Digest(t.Context(), res.Declaration, pack.BuildOptions{})
	if err != nil {
		t.Fatalf("Digest of the files written: %v", err)
	}
	if written != fromMemory.Digest() {
		t.Errorf("files written have digest %s, want %s", written, fromMemory.Digest())
	}
	var names []string
	for _, c := range fromMemory.Components {
		names = append(names, c.Name)
	}
	if !slices.Equal(res.Files, names) {
		t.Errorf("files written %q, want the logical names %q", res.Files, names)
	}
	if got := string(testutil.ReadFile(t, filepath.Join(out, "context", "03-terms.pdf"))); got != composePDF {
		t.Errorf("binary file written as %q", got)
	}
	if got := string(testutil.ReadFile(t, res.Declaration)); !strings.HasPrefix(got, "# written by a test\n#\n# second paragraph\nrunid: \"1\"\n") {
		t.Errorf("declaration does not start with the comment:\n%s", got)
	}
}

// TestComposeSameShape composes runs with the same parts and other bytes,
// one after another and at once: each has the identity of its files, and
// composing one run does not leak into another.
func TestComposeSameShape(t *testing.T) {
	shaped := func(i int) *pack.Run {
		return composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleInput, pack.JSON("input/messages.json", []map[string]any{{"role": "user", "content": fmt.Sprint("question ", i)}}))
			r.Add(mediatype.RoleSystemPrompt, pack.Text("system-prompt/system.md", fmt.Sprint("prompt ", i%3)))
		})
	}
	digests := make([]digest.Digest, 12)
	var wg sync.WaitGroup
	for i := range digests {
		wg.Go(func() {
			c, err := shaped(i).Compose(t.Context(), pack.BuildOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			digests[i] = c.Digest()
		})
	}
	wg.Wait()
	for i, d := range digests {
		res, err := shaped(i).WriteDir(t.Context(), t.TempDir(), pack.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fromFiles, err := pack.Digest(t.Context(), res.Declaration, pack.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d != fromFiles || res.Digest != fromFiles {
			t.Errorf("run %d: composed %s, written %s, from files %s", i, d, res.Digest, fromFiles)
		}
		if i > 0 && d == digests[i-1] {
			t.Errorf("runs %d and %d have the same identity", i-1, i)
		}
	}
}

func composeReadComponent(t *testing.T, c pack.Component) []byte {
	t.Helper()
	rc, err := c.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// composeMinimalRun accounts for every core role with the fewest parts; change
// adds or replaces what a test needs.
func composeMinimalRun(change func(r *pack.Run)) *pack.Run {
	var r pack.Run
	r.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]string{"provider": "openai", "name": "gpt-4o-mini"}))
	if change != nil {
		change(&r)
	}
	for _, role := range mediatype.CoreRoles() {
		if !slices.Contains(r.Roles(), role) {
			r.None(role)
		}
	}
	return &r
}

func TestComposeErrors(t *testing.T) {
	tests := []struct {
		name string
		run  *pack.Run
		opts pack.BuildOptions
		want error
		msg  string // a substring of the message
	}{
		{name: "empty run", run: &pack.Run{}, want: spec.ErrMissingRole, msg: `None("model")`},
		{name: "core role missing", run: func() *pack.Run {
			r := composeMinimalRun(nil)
			var out pack.Run
			for _, role := range r.Roles() {
				if role == mediatype.RoleTools {
					continue
				}
				if p, none := r.Parts(role); none {
					out.None(role)
				} else {
					out.Add(role, p...)
				}
			}
			return &out
		}(), want: spec.ErrMissingRole, msg: `declare it explicitly with None("tools")`},
		{name: "no parts is not an account", run: func() *pack.Run {
			var r pack.Run
			r.Add(mediatype.RoleContext)
			return &r
		}(), want: spec.ErrMissingRole},
		{name: "none and parts", run: composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleContext, pack.Text("context/a.md", "a"))
			r.None(mediatype.RoleContext)
		}), want: spec.ErrInvalidDeclaration, msg: "also declared none"},
		{name: "unknown role", run: composeMinimalRun(func(r *pack.Run) { r.Add("guardrails", pack.Text("g.txt", "g")) }), want: spec.ErrUnknownRole},
		{name: "role with odd characters", run: composeMinimalRun(func(r *pack.Run) { r.None("Tools: x") }), want: spec.ErrUnknownRole},
		{name: "name with ..", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleContext, pack.Text("../a.md", "a")) }), want: spec.ErrInvalidName},
		{name: "absolute name", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleContext, pack.Text("/etc/a.md", "a")) }), want: spec.ErrInvalidName},
		{name: "empty name", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleContext, pack.Text("", "a")) }), want: spec.ErrInvalidName},
		{name: "control character in name", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleContext, pack.Text("a\nb.md", "a")) }), want: spec.ErrInvalidName},
		{name: "invalid UTF-8 name", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleContext, pack.Text("a\xff.md", "a")) }), want: spec.ErrInvalidName},
		{name: "duplicate name", run: composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleContext, pack.Text("doc.md", "a"), pack.Text("DOC.md", "b"))
		}), want: spec.ErrDuplicateName},
		{name: "duplicate name across roles", run: composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleContext, pack.Text("model.json", "a"))
		}), want: spec.ErrDuplicateName},
		{name: "name is a folder of another", run: composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleContext, pack.Text("docs", "a"), pack.Text("docs/a.md", "b"))
		}), want: spec.ErrDuplicateName},
		{name: "format not allowed for the role", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleTools, pack.Text("tools/a.md", "a")) }), want: spec.ErrInvalidFormat},
		{name: "unknown format", run: composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleContext, pack.Part{Name: "a.xml", Format: "xml", Data: []byte("<a/>")})
		}), want: spec.ErrInvalidFormat},
		{name: "text not UTF-8", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleContext, pack.Text("a.md", "a\xff")) }), want: spec.ErrInvalidFormat},
		{name: "yaml not YAML", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleConfig, pack.YAML("c.yaml", []byte("a: [1, 2\n"))) }), want: spec.ErrInvalidFormat},
		{name: "json value that does not encode", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleParameters, pack.JSON("p.json", make(chan int))) }), want: spec.ErrInvalidJSON},
		{name: "raw JSON that is not JSON", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleParameters, pack.JSON("p.json", json.RawMessage(`{"a":`))) }), want: spec.ErrInvalidJSON},
		{name: "json part with duplicate keys", run: composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleParameters, pack.Part{Name: "p.json", Format: mediatype.FormatJSON, Data: []byte(`{"a":1,"a":2}`)})
		}), want: spec.ErrInvalidJSON},
		{name: "json over the cap", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleParameters, pack.JSON("p.json", strings.Repeat("x", 100))) }),
			opts: pack.BuildOptions{MaxStructuredSize: 64}, want: pack.ErrComponentTooLarge},
		{name: "yaml over the cap", run: composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleConfig, pack.YAML("c.yaml", []byte("a: "+strings.Repeat("x", 100))))
		}),
			opts: pack.BuildOptions{MaxStructuredSize: 64}, want: pack.ErrComponentTooLarge},
		{name: "withheld without a secret", run: composeMinimalRun(func(r *pack.Run) { r.Add(mediatype.RoleContext, pack.Text("a.md", "a").Withhold()) }),
			want: pack.ErrNoWithholdSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.run.Compose(t.Context(), tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Compose: %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Error("Compose returned a composition with an error")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not say %q", err, tt.msg)
			}
			var fe *spec.FieldError
			if errors.As(err, &fe) && fe.Line != 0 {
				t.Errorf("error names line %d of a declaration the caller never saw: %v", fe.Line, err)
			}
			dir := t.TempDir()
			if _, err := tt.run.WriteDir(t.Context(), dir, pack.WriteOptions{Build: tt.opts}); !errors.Is(err, tt.want) {
				t.Errorf("WriteDir: %v, want %v", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("WriteDir of a bad run wrote %d entries", len(entries))
			}
		})
	}
}

// TestComposeErrorsAsFiles: a bad part fails with the same sentinel as the
// same component declared in a file.
func TestComposeErrorsAsFiles(t *testing.T) {
	tests := []struct {
		name, role, file, format string
		data                     string
		part                     pack.Part
	}{
		{"invalid JSON", "parameters", "p.json", "json", `{"a":`, pack.JSON("p.json", json.RawMessage(`{"a":`))},
		{"invalid YAML", "config", "c.yaml", "yaml", "a: [1, 2\n", pack.YAML("c.yaml", []byte("a: [1, 2\n"))},
		{"invalid UTF-8 text", "context", "a.md", "text", "a\xff", pack.Text("a.md", "a\xff")},
		{"format not allowed", "tools", "t.md", "text", "a", pack.Text("t.md", "a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var decl strings.Builder
			decl.WriteString("runid: \"1\"\nroles:\n  model: {name: m}\n")
			for _, r := range mediatype.CoreRoles()[1:] {
				if r == tt.role {
					decl.WriteString("  " + r + ":\n    - {name: " + tt.file + ", file: " + tt.file + ", format: " + tt.format + "}\n")
				} else {
					decl.WriteString("  " + r + ": none\n")
				}
			}
			dir := t.TempDir()
			composeWriteTree(t, dir, map[string]string{"runid.yaml": decl.String(), tt.file: tt.data})
			_, fileErr := pack.Load(t.Context(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{})
			if fileErr == nil {
				t.Fatal("Load accepted the bad file")
			}
			run := composeMinimalRun(func(r *pack.Run) {
				r.Add(mediatype.RoleModel)
				r.Add(tt.role, tt.part)
			})
			_, memErr := run.Compose(t.Context(), pack.BuildOptions{})
			if memErr == nil {
				t.Fatal("Compose accepted the bad part")
			}
			for _, s := range []error{spec.ErrInvalidJSON, spec.ErrInvalidFormat, spec.ErrInvalidName, spec.ErrInvalidDeclaration} {
				if errors.Is(fileErr, s) != errors.Is(memErr, s) {
					t.Errorf("from files: %v\nfrom memory: %v\ndisagree on %v", fileErr, memErr, s)
				}
			}
		})
	}
}

// TestComposeWithheld: a withheld part gives the identity of the same
// component withheld in a declaration, with the same secret.
func TestComposeWithheld(t *testing.T) {
	secret := bytes.Repeat([]byte("s"), spec.MinWithholdSecretSize)
	opts := pack.BuildOptions{WithholdSecret: secret}
	run := composeMinimalRun(func(r *pack.Run) {
		r.Add(mediatype.RoleContext, pack.Text("context/contract.md", "Confidential terms.\n").Withhold(),
			pack.JSON("context/account.json", map[string]string{"tier": "gold"}).Withhold())
	})
	mem, err := run.Compose(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := mem.Identity.Document.Roles[mediatype.RoleContext]; st != mediatype.StateWithheld {
		t.Errorf("context is %s, want withheld", st)
	}
	res, err := run.WriteDir(t.Context(), t.TempDir(), pack.WriteOptions{Build: opts})
	if err != nil {
		t.Fatal(err)
	}
	files, err := pack.Digest(t.Context(), res.Declaration, opts)
	if err != nil {
		t.Fatal(err)
	}
	if files != mem.Digest() {
		t.Errorf("from files %s, from memory %s", files, mem.Digest())
	}
	// The files hold the content; the identity, its commitments.
	if got := string(testutil.ReadFile(t, filepath.Join(filepath.Dir(res.Declaration), "context", "account.json"))); got != "{\n  \"tier\": \"gold\"\n}\n" {
		t.Errorf("account.json written as %q", got)
	}
	other, err := run.Compose(t.Context(), pack.BuildOptions{WithholdSecret: bytes.Repeat([]byte("t"), spec.MinWithholdSecretSize)})
	if err != nil {
		t.Fatal(err)
	}
	if other.Digest() == mem.Digest() {
		t.Error("another secret gives the same identity")
	}
}

func TestWriteDir(t *testing.T) {
	t.Run("refuses to overwrite", func(t *testing.T) {
		dir := t.TempDir()
		composeWriteTree(t, dir, map[string]string{"model.json": "keep"})
		_, err := composeMinimalRun(nil).WriteDir(t.Context(), dir, pack.WriteOptions{})
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("WriteDir: %v, want fs.ErrExist", err)
		}
		if got := string(testutil.ReadFile(t, filepath.Join(dir, "model.json"))); got != "keep" {
			t.Errorf("model.json overwritten: %q", got)
		}
		if _, err := os.Stat(filepath.Join(dir, "runid.yaml")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("runid.yaml written: %v", err)
		}
		res, err := composeMinimalRun(nil).WriteDir(t.Context(), dir, pack.WriteOptions{Overwrite: true})
		if err != nil {
			t.Fatal(err)
		}
		if d, err := pack.Digest(t.Context(), res.Declaration, pack.BuildOptions{}); err != nil || d != res.Digest {
			t.Errorf("digest %s (%v), want %s", d, err, res.Digest)
		}
	})
	t.Run("name of the declaration file", func(t *testing.T) {
		run := composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleConfig, pack.YAML("RunID.yaml", []byte("a: 1\n")), pack.YAML("config/x.yaml", []byte("b: 2\n")))
		})
		dir := t.TempDir()
		res, err := run.WriteDir(t.Context(), dir, pack.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"components/model.json", "components/config/x.yaml", "components/RunID.yaml"}
		slices.Sort(want)
		got := slices.Clone(res.Files)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("files %q, want %q", res.Files, want)
		}
		if got := string(testutil.ReadFile(t, filepath.Join(dir, "components", "RunID.yaml"))); got != "a: 1\n" {
			t.Errorf("RunID.yaml holds %q", got)
		}
		if d, err := pack.Digest(t.Context(), res.Declaration, pack.BuildOptions{}); err != nil || d != res.Digest {
			t.Errorf("digest %s (%v), want %s", d, err, res.Digest)
		}
	})
	t.Run("names that YAML would not read as strings", func(t *testing.T) {
		run := composeMinimalRun(func(r *pack.Run) {
			r.Add(mediatype.RoleContext, pack.Text("true", "a"), pack.Text("null", "b"), pack.Text("1.5", "c"),
				pack.Text("a b #c, [d] {e}.md", "d"), pack.Text("ünï/cödé.md", "e"), pack.Text("'q'", "f"))
		})
		mem, err := run.Compose(t.Context(), pack.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := run.WriteDir(t.Context(), t.TempDir(), pack.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		files, err := pack.Load(t.Context(), res.Declaration, pack.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if files.Digest() != mem.Digest() {
			t.Errorf("files %s, memory %s", files.Digest(), mem.Digest())
		}
		for i, c := range files.Components {
			if c.Name != mem.Components[i].Name {
				t.Errorf("name %q read back as %q", mem.Components[i].Name, c.Name)
			}
		}
	})
}

func TestRunRolesAndParts(t *testing.T) {
	var r pack.Run
	r.Add("com.example.b", pack.Text("b.txt", "b"))
	r.None(mediatype.RoleRuntime, mediatype.RoleTools)
	r.Add("com.example.a", pack.Text("a.txt", "a"))
	r.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]string{"name": "m"}))
	r.Add("com.example.b", pack.Text("b2.txt", "b2"))
	want := []string{mediatype.RoleModel, mediatype.RoleTools, mediatype.RoleRuntime, "com.example.a", "com.example.b"}
	if got := r.Roles(); !slices.Equal(got, want) {
		t.Errorf("Roles() = %q, want %q", got, want)
	}
	parts, none := r.Parts("com.example.b")
	if none || len(parts) != 2 || parts[0].Name != "b.txt" || parts[1].Name != "b2.txt" {
		t.Errorf("Parts(com.example.b) = %v, %v", parts, none)
	}
	if parts, none := r.Parts(mediatype.RoleTools); !none || len(parts) != 0 {
		t.Errorf("Parts(tools) = %v, %v", parts, none)
	}
	if parts, none := r.Parts(mediatype.RoleInput); none || parts != nil {
		t.Errorf("Parts(input) = %v, %v", parts, none)
	}
}
