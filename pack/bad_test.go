package pack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/content/oci"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// declWith returns a valid declaration whose context role is context (a
// YAML value written after "context:"), with extra lines appended to the
// roles map and the roles in drop left out.
func declWith(context string, extra string, drop ...string) string {
	lines := []string{
		`  model: { provider: openai, name: gpt-4o-mini }`,
		`  parameters: none`,
		`  system-prompt: none`,
		`  tools: none`,
		`  context: ` + context,
		`  input:`,
		`    - name: input.txt`,
		`      text: "hello"`,
		`  config: none`,
		`  runtime: none`,
	}
	var b strings.Builder
	b.WriteString("runid: \"1\"\nroles:\n")
	for _, l := range lines {
		skip := false
		for _, d := range drop {
			if strings.HasPrefix(l, "  "+d+":") {
				skip = true
			}
		}
		if !skip {
			b.WriteString(l + "\n")
		}
	}
	b.WriteString(extra)
	return b.String()
}

// contextFile is a context role with one file component.
func contextFile(file string) string {
	return fmt.Sprintf("\n    - name: context/doc.md\n      file: %q\n", file)
}

// packAndPush is what a CLI does: load, and push only what loaded.
func packAndPush(ctx context.Context, decl string, target string) error {
	c, err := pack.Load(ctx, decl, pack.BuildOptions{})
	if err != nil {
		return err
	}
	store, err := oci.New(target)
	if err != nil {
		return err
	}
	_, err = pack.Push(ctx, store, c, pack.PushOptions{Tag: "latest"})
	return err
}

// badCase is a declaration the packer must refuse.
type badCase struct {
	name string
	// setup writes the declaration and its files below dir and returns
	// the declaration's path.
	setup func(t *testing.T, dir string) string
	want  error
	// field is the field the error must name: FieldError.Field for a
	// declaration error, part of the message for a component error.
	field string
	// file, if set, is the component file the message must name.
	file string
	// looseField: a declaration error need only name field in its
	// message (as cases.json asks), not have it as FieldError.Field.
	looseField bool
}

// decl writes a declaration with the given text and files (path → bytes).
func decl(text string, files map[string][]byte) func(t *testing.T, dir string) string {
	return func(t *testing.T, dir string) string {
		for p, data := range files {
			writeFile(t, filepath.Join(dir, filepath.FromSlash(p)), data)
		}
		p := filepath.Join(dir, "runid.yaml")
		writeFile(t, p, []byte(text))
		return p
	}
}

// textFile returns a text file of size bytes of 'a' with tail at its end
// (or at offset at when at >= 0, then followed by 'a's to size).
func textFile(size int, at int, insert []byte) []byte {
	b := bytes.Repeat([]byte("a"), size)
	if at < 0 {
		at = size - len(insert)
	}
	copy(b[at:], insert)
	return b
}

const mib = 1 << 20

func badCases() []badCase {
	nameCase := func(name, yamlName string) badCase {
		return badCase{name: name, setup: decl(declWith("\n    - name: "+yamlName+"\n      text: \"x\"\n", ""), nil),
			want: spec.ErrInvalidName, field: "roles.context[0].name"}
	}
	return []badCase{
		{name: "missing file", setup: decl(declWith(contextFile("docs/missing.md"), ""), nil),
			want: pack.ErrComponentFile, field: "roles.context[0].file", file: "docs/missing.md"},
		{name: "directory as file", setup: func(t *testing.T, dir string) string {
			if err := os.MkdirAll(filepath.Join(dir, "docs", "handbook"), 0o755); err != nil {
				t.Fatal(err)
			}
			return decl(declWith(contextFile("docs/handbook"), ""), nil)(t, dir)
		}, want: pack.ErrComponentFile, field: "roles.context[0].file", file: "docs/handbook"},
		{name: "unknown role", setup: decl(declWith("none", "  prompts: none\n"), nil),
			want: spec.ErrUnknownRole, field: "roles.prompts"},
		{name: "missing core role", setup: decl(declWith("none", "", "runtime"), nil),
			want: spec.ErrMissingRole, field: "roles.runtime"},
		{name: "duplicate name", setup: decl(declWith("\n    - name: context/a.md\n      text: one\n    - name: context/a.md\n      text: two\n", ""), nil),
			want: spec.ErrDuplicateName, field: "roles.context[1].name"},
		{name: "duplicate name across roles", setup: decl(declWith("\n    - name: input.txt\n      text: one\n", ""), nil),
			want: spec.ErrDuplicateName, field: "roles.input[0].name"},
		{name: "duplicate name in other case", setup: decl(declWith("\n    - name: context/A.md\n      text: one\n    - name: context/a.md\n      text: two\n", ""), nil),
			want: spec.ErrDuplicateName, field: "roles.context[1].name"},
		nameCase("name with ..", "context/../../etc/passwd"),
		nameCase("name that is ..", `".."`),
		nameCase("absolute name", "/etc/passwd"),
		nameCase("name with NUL", `"context/a\0b.md"`),
		nameCase("name with control character", `"context/a\x01b.md"`),
		nameCase("name with newline", `"context/a\nb.md"`),
		nameCase("name with DEL", `"context/a\x7fb.md"`),
		{name: "empty declaration", setup: decl("", nil), want: spec.ErrInvalidDeclaration},
		{name: "comments only", setup: decl("# nothing here\n\n", nil), want: spec.ErrInvalidDeclaration},
		{name: "duplicate YAML keys", setup: decl(declWith("none", "  tools:\n    - name: tools/t.json\n      inline: {type: function}\n"), nil),
			want: spec.ErrInvalidDeclaration},
		{name: "invalid JSON file", setup: decl(declWith("none", "", "tools")+"  tools:\n    - name: tools/t.json\n      file: t.json\n",
			map[string][]byte{"t.json": []byte("{\n  \"type\": \"function\",\n}\n")}),
			want: spec.ErrInvalidJSON, field: "roles.tools[0].file", file: "t.json"},
		{name: "JSON file with duplicate keys", setup: decl(declWith("none", "", "tools")+"  tools:\n    - name: tools/t.json\n      file: t.json\n",
			map[string][]byte{"t.json": []byte(`{"type": "function", "type": "other"}`)}),
			want: spec.ErrInvalidJSON, field: "roles.tools[0].file", file: "t.json"},
		{name: "JSON file with trailing data", setup: decl(declWith("none", "", "tools")+"  tools:\n    - name: tools/t.json\n      file: t.json\n",
			map[string][]byte{"t.json": []byte(`{"type": "function"} {}`)}),
			want: spec.ErrInvalidJSON, field: "roles.tools[0].file", file: "t.json"},
		{name: "empty JSON file", setup: decl(declWith("none", "", "tools")+"  tools:\n    - name: tools/t.json\n      file: t.json\n",
			map[string][]byte{"t.json": nil}),
			want: spec.ErrInvalidJSON, field: "roles.tools[0].file", file: "t.json"},
		{name: "declaration over the size cap", setup: func(t *testing.T, dir string) string {
			// A valid declaration, padded with a comment to one byte
			// over the cap.
			d := declWith("none", "")
			pad := spec.MaxDeclarationSize + 1 - len(d)
			return decl(d+"#"+strings.Repeat("x", pad-2)+"\n", nil)(t, dir)
		}, want: spec.ErrDeclarationTooLarge},
		{name: "declaration far over the size cap", setup: func(t *testing.T, dir string) string {
			return decl(declWith("\n    - name: c.txt\n      text: \""+strings.Repeat("y", 3*mib)+"\"\n", ""), nil)(t, dir)
		}, want: spec.ErrDeclarationTooLarge},
		{name: "file path with ..", setup: func(t *testing.T, dir string) string {
			decl := filepath.Join(dir, "run")
			writeFile(t, filepath.Join(dir, "secret.txt"), []byte("outside"))
			return declIn(t, decl, declWith(contextFile("../secret.txt"), ""))
		}, want: spec.ErrInvalidDeclaration, field: "roles.context[0].file"},
		{name: "file path with .. inside the path", setup: func(t *testing.T, dir string) string {
			decl := filepath.Join(dir, "run")
			writeFile(t, filepath.Join(dir, "secret.txt"), []byte("outside"))
			writeFile(t, filepath.Join(decl, "docs", "a.md"), []byte("inside"))
			return declIn(t, decl, declWith(contextFile("docs/../../secret.txt"), ""))
		}, want: spec.ErrInvalidDeclaration, field: "roles.context[0].file"},
		{name: "absolute file path outside", setup: decl(declWith(contextFile("/etc/passwd"), ""), nil),
			want: spec.ErrInvalidDeclaration, field: "roles.context[0].file"},
		{name: "absolute file path inside", setup: func(t *testing.T, dir string) string {
			abs := filepath.Join(dir, "doc.md")
			writeFile(t, abs, []byte("inside, but written as an absolute path"))
			return decl(declWith(contextFile(abs), ""), nil)(t, dir)
		}, want: spec.ErrInvalidDeclaration, field: "roles.context[0].file"},
		{name: "symlink to a file outside", setup: func(t *testing.T, dir string) string {
			decl := filepath.Join(dir, "run")
			writeFile(t, filepath.Join(dir, "secret.txt"), []byte("outside"))
			symlink(t, filepath.Join(dir, "secret.txt"), filepath.Join(decl, "doc.md"))
			return declIn(t, decl, declWith(contextFile("doc.md"), ""))
		}, want: pack.ErrComponentFile, field: "roles.context[0].file", file: "doc.md"},
		{name: "relative symlink to a file outside", setup: func(t *testing.T, dir string) string {
			decl := filepath.Join(dir, "run")
			writeFile(t, filepath.Join(dir, "secret.txt"), []byte("outside"))
			symlink(t, "../secret.txt", filepath.Join(decl, "doc.md"))
			return declIn(t, decl, declWith(contextFile("doc.md"), ""))
		}, want: pack.ErrComponentFile, field: "roles.context[0].file", file: "doc.md"},
		{name: "symlinked directory outside", setup: func(t *testing.T, dir string) string {
			decl := filepath.Join(dir, "run")
			writeFile(t, filepath.Join(dir, "outside", "doc.md"), []byte("outside"))
			symlink(t, filepath.Join(dir, "outside"), filepath.Join(decl, "docs"))
			return declIn(t, decl, declWith(contextFile("docs/doc.md"), ""))
		}, want: pack.ErrComponentFile, field: "roles.context[0].file", file: "docs/doc.md"},
		{name: "symlink to /etc/passwd", setup: func(t *testing.T, dir string) string {
			symlink(t, "/etc/passwd", filepath.Join(dir, "doc.md"))
			return decl(declWith(contextFile("doc.md"), ""), nil)(t, dir)
		}, want: pack.ErrComponentFile, field: "roles.context[0].file", file: "doc.md"},
		{name: "dangling symlink", setup: func(t *testing.T, dir string) string {
			symlink(t, "nowhere.md", filepath.Join(dir, "doc.md"))
			return decl(declWith(contextFile("doc.md"), ""), nil)(t, dir)
		}, want: pack.ErrComponentFile, field: "roles.context[0].file", file: "doc.md"},
		{name: "invalid UTF-8 in text", setup: decl(declWith(contextFile("doc.md"), ""),
			map[string][]byte{"doc.md": []byte("caf\xe9 au lait\n")}),
			want: spec.ErrInvalidFormat, field: "roles.context[0].file", file: "doc.md"},
		{name: "UTF-16 surrogate in text", setup: decl(declWith(contextFile("doc.md"), ""),
			map[string][]byte{"doc.md": []byte("a\xed\xa0\x80b")}),
			want: spec.ErrInvalidFormat, field: "roles.context[0].file", file: "doc.md"},
		{name: "overlong encoding in text", setup: decl(declWith(contextFile("doc.md"), ""),
			map[string][]byte{"doc.md": []byte("a\xc0\xafb")}),
			want: spec.ErrInvalidFormat, field: "roles.context[0].file", file: "doc.md"},
		{name: "truncated rune at the end of text", setup: decl(declWith(contextFile("doc.md"), ""),
			map[string][]byte{"doc.md": []byte("price: 5 \xe2\x82")}),
			want: spec.ErrInvalidFormat, field: "roles.context[0].file", file: "doc.md"},
		{name: "truncated rune at the end of a 1 MiB text", setup: decl(declWith(contextFile("doc.md"), ""),
			map[string][]byte{"doc.md": textFile(mib, -1, []byte("\xf0\x9f\x98"))}),
			want: spec.ErrInvalidFormat, field: "roles.context[0].file", file: "doc.md"},
		{name: "truncated rune at the end of a 2 MiB + 1 text", setup: decl(declWith(contextFile("doc.md"), ""),
			map[string][]byte{"doc.md": textFile(2*mib+1, -1, []byte("\xe2"))}),
			want: spec.ErrInvalidFormat, field: "roles.context[0].file", file: "doc.md"},
		{name: "continuation byte at the 1 MiB boundary", setup: decl(declWith(contextFile("doc.md"), ""),
			map[string][]byte{"doc.md": textFile(mib+10, mib, []byte("\x80"))}),
			want: spec.ErrInvalidFormat, field: "roles.context[0].file", file: "doc.md"},
		{name: "rune cut at the 1 MiB boundary and not continued", setup: decl(declWith(contextFile("doc.md"), ""),
			map[string][]byte{"doc.md": textFile(mib+10, mib-2, []byte("\xe2\x82a"))}),
			want: spec.ErrInvalidFormat, field: "roles.context[0].file", file: "doc.md"},
		{name: "invalid byte just after the 1 MiB boundary", setup: decl(declWith(contextFile("doc.md"), ""),
			map[string][]byte{"doc.md": textFile(2*mib, mib+1, []byte("\xff"))}),
			want: spec.ErrInvalidFormat, field: "roles.context[0].file", file: "doc.md"},
		{name: "invalid YAML component file", setup: decl(declWith("none", "", "config")+"  config:\n    - name: config/a.yaml\n      file: a.yaml\n",
			map[string][]byte{"a.yaml": []byte("a: [1, 2\nb: {\n")}),
			want: spec.ErrInvalidFormat, field: "roles.config[0].file", file: "a.yaml"},
	}
}

// declIn writes a declaration in dir and returns its path.
func declIn(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "runid.yaml")
	writeFile(t, p, []byte(text))
	return p
}

func symlink(t *testing.T, oldname, newname string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(newname), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(oldname, newname); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRejects checks that every bad declaration fails with its
// sentinel, names the declaration file and the field (and the component
// file where there is one), and that nothing reaches the target.
func TestLoadRejects(t *testing.T) {
	for _, tc := range badCases() {
		t.Run(tc.name, func(t *testing.T) {
			declPath := tc.setup(t, t.TempDir())
			layoutDir := t.TempDir()
			err := packAndPush(t.Context(), declPath, layoutDir)
			checkBad(t, err, declPath, tc)
			assertLayoutEmpty(t, layoutDir)

			// pack.Digest agrees: same failure.
			if _, err := pack.Digest(t.Context(), declPath, pack.BuildOptions{}); !errors.Is(err, tc.want) {
				t.Errorf("pack.Digest error = %v, want %v", err, tc.want)
			}
		})
	}
}

// checkBad asserts the sentinel and the location of a packing error.
func checkBad(t *testing.T, err error, declPath string, tc badCase) {
	t.Helper()
	if err == nil {
		t.Fatalf("loaded; want an error wrapping %v", tc.want)
	}
	if !errors.Is(err, tc.want) {
		t.Fatalf("error = %v; want one wrapping %v", err, tc.want)
	}
	var fe *spec.FieldError
	if errors.As(err, &fe) {
		if fe.File != declPath {
			t.Errorf("FieldError.File = %q, want %q (error: %v)", fe.File, declPath, err)
		}
		switch {
		case tc.looseField && !strings.Contains(err.Error(), tc.field):
			t.Errorf("error %q does not name the field %q", err, tc.field)
		case !tc.looseField && fe.Field != tc.field:
			t.Errorf("FieldError.Field = %q, want %q (error: %v)", fe.Field, tc.field, err)
		}
		return
	}
	// A component error (the declaration is valid, a component is not):
	// the message names the declaration, the field and the file as
	// declared.
	msg := err.Error()
	if !strings.Contains(msg, declPath) {
		t.Errorf("error %q does not name the declaration %q", msg, declPath)
	}
	if tc.field == "" || !strings.Contains(msg, tc.field) {
		t.Errorf("error %q does not name the field %q", msg, tc.field)
	}
	if tc.file != "" && !strings.Contains(msg, tc.file) {
		t.Errorf("error %q does not name the file %q", msg, tc.file)
	}
}

// TestLoadRejectsFIFO checks that a named pipe given as a component file is
// refused at once, not waited on.
func TestLoadRejectsFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "doc.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	declPath := declIn(t, dir, declWith(contextFile("doc.md"), ""))
	done := make(chan error, 1)
	go func() {
		_, err := pack.Load(t.Context(), declPath, pack.BuildOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		checkBad(t, err, declPath, badCase{want: pack.ErrComponentFile, field: "roles.context[0].file", file: "doc.md"})
	case <-time.After(10 * time.Second):
		t.Fatal("Load is blocked opening a named pipe")
	}
}

// TestLoadAccepts checks inputs near the edges that are valid: text whose
// multi-byte runes straddle the 1 MiB read boundary, empty files, symbolic
// links that stay inside the declaration's directory.
func TestLoadAccepts(t *testing.T) {
	type acceptCase struct {
		name string
		// setup, if set, writes the component file and returns its path
		// as declared; otherwise want is written to doc.md.
		setup func(t *testing.T, dir string) (file string)
		want  []byte // the component's bytes
	}
	cases := []acceptCase{
		{name: "empty text file", want: []byte{}},
		{name: "text of exactly 1 MiB", want: textFile(mib, -1, []byte("é"))},
		{name: "text of 1 MiB + 1", want: textFile(mib+1, -1, []byte("\n"))},
		{name: "symlink inside", setup: func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "real", "doc.md"), []byte("real"))
			symlink(t, "../real/doc.md", filepath.Join(dir, "docs", "doc.md"))
			return "docs/doc.md"
		}, want: []byte("real")},
		{name: "path with . and ..", setup: func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "docs", "doc.md"), []byte("dotted"))
			if err := os.MkdirAll(filepath.Join(dir, "other"), 0o755); err != nil {
				t.Fatal(err)
			}
			return "./other/../docs/./doc.md"
		}, want: []byte("dotted")},
	}
	// Every rune length, cut at every byte of it by the 1 MiB boundary,
	// and at the boundary after the carried bytes shifted the next read.
	for _, r := range []string{"é", "€", "😀"} {
		for cut := 1; cut < len(r); cut++ {
			cases = append(cases, acceptCase{name: fmt.Sprintf("%d-byte rune cut after %d bytes at 1 MiB", len(r), cut),
				want: textFile(mib+8, mib-cut, []byte(r))})
			cases = append(cases, acceptCase{name: fmt.Sprintf("%d-byte rune cut after %d bytes at 2 MiB", len(r), cut),
				want: textFile(2*mib+8, 2*mib-cut, []byte(r))})
		}
	}
	// A text made only of 4-byte runes spans every boundary mid-rune.
	cases = append(cases, acceptCase{name: "2 MiB of emoji", want: []byte(strings.Repeat("😀", 2*mib/4+1))})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			name := "doc.md"
			if tc.setup != nil {
				name = tc.setup(t, dir)
			} else {
				writeFile(t, filepath.Join(dir, name), tc.want)
			}
			declPath := declIn(t, dir, declWith(contextFile(name), ""))
			c := load(t, declPath)
			store, layoutDir := testutil.NewLayout(t)
			if _, err := pack.Push(t.Context(), store, c, pack.PushOptions{}); err != nil {
				t.Fatalf("push: %v", err)
			}
			comp := componentNamed(t, c, "context/doc.md")
			if comp.Digest != digest.FromBytes(tc.want) || comp.Size != int64(len(tc.want)) {
				t.Errorf("component %s (%d bytes), want %s (%d bytes)", comp.Digest, comp.Size, digest.FromBytes(tc.want), len(tc.want))
			}
			if len(layoutIndex(t, layoutDir)) != 1 {
				t.Errorf("layout index lists %d manifests, want 1", len(layoutIndex(t, layoutDir)))
			}
		})
	}
}

// fixtureSentinels maps the sentinel names of
// testdata/declarations/bad/cases.json to errors. "pack" cases are told
// apart by path: only the packer, reading files, can reject them.
var (
	fixtureSentinels = map[string]error{
		"ErrInvalidDeclaration":  spec.ErrInvalidDeclaration,
		"ErrDeclarationTooLarge": spec.ErrDeclarationTooLarge,
		"ErrMissingRole":         spec.ErrMissingRole,
		"ErrUnknownRole":         spec.ErrUnknownRole,
		"ErrInvalidName":         spec.ErrInvalidName,
		"ErrDuplicateName":       spec.ErrDuplicateName,
		"ErrInvalidJSON":         spec.ErrInvalidJSON,
		"ErrInvalidFormat":       spec.ErrInvalidFormat,
		"ErrUnsupportedVersion":  spec.ErrUnsupportedVersion,
	}
	fixturePackSentinels = map[string]error{
		"missing-file/runid.yaml":      pack.ErrComponentFile,
		"directory-as-file/runid.yaml": pack.ErrComponentFile,
		"invalid-json-file/runid.yaml": spec.ErrInvalidJSON,
	}
)

// TestLoadRejectsFixtures runs every bad declaration fixture through
// pack.Load and a push to an OCI layout: each fails with its sentinel,
// names its field (and line), and nothing is pushed.
func TestLoadRejectsFixtures(t *testing.T) {
	const dir = "../testdata/declarations/bad"
	var cases []struct {
		Path     string   `json:"path"`
		Sentinel string   `json:"sentinel"`
		Field    string   `json:"field"`
		Line     int      `json:"line"`
		Contains []string `json:"contains"`
	}
	if err := json.Unmarshal(testutil.ReadFile(t, filepath.Join(dir, "cases.json")), &cases); err != nil {
		t.Fatalf("cases.json: %v", err)
	}
	packCases := 0
	for _, tc := range cases {
		t.Run(tc.Path, func(t *testing.T) {
			want, ok := fixtureSentinels[tc.Sentinel]
			if tc.Sentinel == "pack" {
				packCases++
				want, ok = fixturePackSentinels[tc.Path]
			}
			if !ok {
				t.Fatalf("no sentinel known for %q (sentinel %q); add it to this test", tc.Path, tc.Sentinel)
			}
			declPath := filepath.Join(dir, filepath.FromSlash(tc.Path))
			layoutDir := t.TempDir()
			err := packAndPush(t.Context(), declPath, layoutDir)
			checkBad(t, err, declPath, badCase{want: want, field: tc.Field, looseField: true})
			assertLayoutEmpty(t, layoutDir)
			var fe *spec.FieldError
			if tc.Line > 0 && errors.As(err, &fe) && fe.Line != tc.Line {
				t.Errorf("line %d, want %d (error: %v)", fe.Line, tc.Line, err)
			}
			for _, s := range tc.Contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
	if packCases != len(fixturePackSentinels) {
		t.Errorf("cases.json has %d pack cases, this test knows %d", packCases, len(fixturePackSentinels))
	}
}

// TestBuildRejectsEscapingPaths gives pack.Build declarations that did not
// come through the parser, with file paths outside the directory: Build
// itself must refuse them.
func TestBuildRejectsEscapingPaths(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "run")
	writeFile(t, filepath.Join(base, "secret.txt"), []byte("outside"))
	writeFile(t, filepath.Join(dir, "inside.md"), []byte("inside"))
	for _, file := range []string{
		"../secret.txt",
		"docs/../../secret.txt",
		filepath.Join(base, "secret.txt"),
		filepath.Join(dir, "inside.md"),
		"/etc/passwd",
	} {
		t.Run(file, func(t *testing.T) {
			d, err := spec.ParseDeclaration("runid.yaml", []byte(declWith(contextFile("inside.md"), "")))
			if err != nil {
				t.Fatal(err)
			}
			for i := range d.Roles {
				for j := range d.Roles[i].Components {
					if d.Roles[i].Components[j].File != "" {
						d.Roles[i].Components[j].File = file
					}
				}
			}
			_, err = pack.Build(t.Context(), d, dir, pack.BuildOptions{})
			if !errors.Is(err, pack.ErrComponentFile) {
				t.Fatalf("error = %v, want %v", err, pack.ErrComponentFile)
			}
		})
	}
}

// TestLoadDeclarationSizeCap checks the edge of spec.MaxDeclarationSize: a
// declaration of exactly the cap loads, one byte more does not.
func TestLoadDeclarationSizeCap(t *testing.T) {
	for _, tc := range []struct {
		size int
		want error
	}{
		{spec.MaxDeclarationSize - 1, nil},
		{spec.MaxDeclarationSize, nil},
		{spec.MaxDeclarationSize + 1, spec.ErrDeclarationTooLarge},
	} {
		t.Run(strconv.Itoa(tc.size), func(t *testing.T) {
			d := declWith("none", "")
			text := d + "#" + strings.Repeat("x", tc.size-len(d)-2) + "\n"
			if len(text) != tc.size {
				t.Fatalf("built %d bytes, want %d", len(text), tc.size)
			}
			_, err := pack.Load(t.Context(), decl(text, nil)(t, t.TempDir()), pack.BuildOptions{})
			if !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestLoadStructuredSizeCap checks BuildOptions.MaxStructuredSize: a JSON
// component file of exactly the cap loads, one byte more fails with
// ErrComponentTooLarge; text files are not bounded by it.
func TestLoadStructuredSizeCap(t *testing.T) {
	const limit = 64
	tool := func(size int) []byte {
		head := `{"type":"function","pad":"`
		return []byte(head + strings.Repeat("p", size-len(head)-2) + `"}`)
	}
	for _, tc := range []struct {
		name   string
		format string
		data   []byte
		want   error
	}{
		{"json at the cap", "", tool(limit), nil},
		{"json over the cap", "", tool(limit + 1), pack.ErrComponentTooLarge},
		{"text over the cap", "\n      format: text", bytes.Repeat([]byte("t"), 10*limit), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.format == "" && len(tc.data) != limit && len(tc.data) != limit+1 {
				t.Fatalf("built %d bytes", len(tc.data))
			}
			text := declWith("none", "\n  com.example.blob:\n    - name: blob.json\n      file: blob.json"+tc.format+"\n")
			path := decl(text, map[string][]byte{"blob.json": tc.data})(t, t.TempDir())
			_, err := pack.Load(t.Context(), path, pack.BuildOptions{MaxStructuredSize: limit})
			if !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
}
