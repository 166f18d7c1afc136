package spec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

const (
	badDir      = "../testdata/declarations/bad"
	examplesDir = "../testdata/examples"
)

// declCase is one entry of testdata/declarations/bad/cases.json.
type declCase struct {
	Path     string   `json:"path"`
	Sentinel string   `json:"sentinel"`
	Field    string   `json:"field"`
	Why      string   `json:"why"`
	Line     int      `json:"line"`
	Contains []string `json:"contains"`
}

// packSentinel marks the cases only the packer detects: it reads the
// component files, ParseDeclaration does not.
const packSentinel = "pack"

var sentinels = map[string]error{
	"ErrInvalidDeclaration":  spec.ErrInvalidDeclaration,
	"ErrMissingRole":         spec.ErrMissingRole,
	"ErrUnknownRole":         spec.ErrUnknownRole,
	"ErrInvalidName":         spec.ErrInvalidName,
	"ErrDuplicateName":       spec.ErrDuplicateName,
	"ErrInvalidJSON":         spec.ErrInvalidJSON,
	"ErrInvalidFormat":       spec.ErrInvalidFormat,
	"ErrUnsupportedVersion":  spec.ErrUnsupportedVersion,
	"ErrDeclarationTooLarge": spec.ErrDeclarationTooLarge,
}

func loadCases(t *testing.T) []declCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(badDir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cases []declCase
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("cases.json: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("cases.json: no cases")
	}
	return cases
}

// TestBadDeclarationCases checks that every bad declaration is rejected with
// its sentinel, by an error naming the file, the field and (where the case
// gives one) the line.
func TestBadDeclarationCases(t *testing.T) {
	for _, tc := range loadCases(t) {
		t.Run(tc.Path, func(t *testing.T) {
			file := filepath.Join(badDir, filepath.FromSlash(tc.Path))
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = spec.ParseDeclaration(file, data)

			if tc.Sentinel == packSentinel {
				// The parser does not read component files; these
				// declarations must otherwise be well formed, so that the
				// packer's test fails for the intended reason. Rejecting
				// them earlier is allowed, if the error names the field.
				if err != nil {
					t.Errorf("rejected by the parser, but the packer must be the one to reject it (%s): %v", tc.Why, err)
				}
				return
			}

			want := sentinels[tc.Sentinel]
			if err == nil {
				t.Fatalf("accepted; want an error wrapping %s (%s)", tc.Sentinel, tc.Why)
			}
			var problems []string
			if !errors.Is(err, want) {
				problems = append(problems, fmt.Sprintf("does not wrap %s", tc.Sentinel))
			}
			msg := err.Error()
			if !strings.Contains(msg, file) {
				problems = append(problems, fmt.Sprintf("does not name the file %s", file))
			}
			if tc.Field != "" && !strings.Contains(msg, tc.Field) {
				problems = append(problems, fmt.Sprintf("does not name the field %s", tc.Field))
			}
			for _, s := range tc.Contains {
				if !strings.Contains(msg, s) {
					problems = append(problems, fmt.Sprintf("does not contain %q", s))
				}
			}
			var fe *spec.FieldError
			switch {
			case !errors.As(err, &fe):
				problems = append(problems, fmt.Sprintf("is a %T, not a *spec.FieldError", err))
			case tc.Line > 0 && fe.Line != tc.Line:
				problems = append(problems, fmt.Sprintf("gives line %d, want %d", fe.Line, tc.Line))
			}

			if len(problems) > 0 {
				t.Errorf("the error %s (%s)\ngot: %v", strings.Join(problems, "; "), tc.Why, err)
			}
		})
	}
}

// TestBadDeclarationCasesAreComplete keeps cases.json and the directory in
// step: every case names an existing file and a known sentinel, and every
// fixture in the directory is a case.
func TestBadDeclarationCasesAreComplete(t *testing.T) {
	cases := loadCases(t)
	seen := map[string]bool{}
	covered := map[string]bool{"README.md": true, "cases.json": true}
	for _, tc := range cases {
		if seen[tc.Path] {
			t.Errorf("%s: listed twice", tc.Path)
		}
		seen[tc.Path] = true
		covered[strings.SplitN(tc.Path, "/", 2)[0]] = true
		if _, ok := sentinels[tc.Sentinel]; !ok && tc.Sentinel != packSentinel {
			t.Errorf("%s: unknown sentinel %q", tc.Path, tc.Sentinel)
		}
		if tc.Why == "" {
			t.Errorf("%s: no why", tc.Path)
		}
		if fi, err := os.Stat(filepath.Join(badDir, filepath.FromSlash(tc.Path))); err != nil {
			t.Errorf("%s: %v", tc.Path, err)
		} else if !fi.Mode().IsRegular() {
			t.Errorf("%s: not a regular file", tc.Path)
		}
	}
	entries, err := os.ReadDir(badDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !covered[e.Name()] {
			t.Errorf("%s is in %s but not in cases.json", e.Name(), badDir)
		}
	}
}

// TestDeclarationTooLarge builds the oversize case in memory rather than
// committing a file over 1 MiB.
func TestDeclarationTooLarge(t *testing.T) {
	const file = "generated/oversize.yaml"
	valid, err := os.ReadFile(filepath.Join(examplesDir, "minimal", "runid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pad := func(n int) []byte {
		b := slices.Clone(valid)
		b = append(b, "\n#"...)
		b = append(b, bytes.Repeat([]byte{'x'}, n-len(b)-1)...)
		return append(b, '\n')
	}

	over := pad(spec.MaxDeclarationSize + 1)
	if len(over) != spec.MaxDeclarationSize+1 {
		t.Fatalf("built %d bytes", len(over))
	}
	_, err = spec.ParseDeclaration(file, over)
	if !errors.Is(err, spec.ErrDeclarationTooLarge) {
		t.Fatalf("%d bytes: got %v, want ErrDeclarationTooLarge", len(over), err)
	}
	if !strings.Contains(err.Error(), file) {
		t.Errorf("error does not name the file: %v", err)
	}

	at := pad(spec.MaxDeclarationSize)
	if len(at) != spec.MaxDeclarationSize {
		t.Fatalf("built %d bytes", len(at))
	}
	if _, err := spec.ParseDeclaration(file, at); err != nil {
		t.Errorf("%d bytes, exactly the limit: %v", len(at), err)
	}
}

// TestExamplesParse checks every example run: it parses, accounts for every
// core role, lists roles in canonical order, and its file components exist
// below the example's directory (JSON ones canonicalize).
func TestExamplesParse(t *testing.T) {
	decls, err := filepath.Glob(filepath.Join(examplesDir, "*", "runid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(decls) < 4 {
		t.Fatalf("found %d examples, want at least 4: %v", len(decls), decls)
	}
	for _, file := range decls {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			d, err := spec.ParseDeclaration(file, data)
			if err != nil {
				t.Fatal(err)
			}
			var roles []string
			for _, r := range d.Roles {
				roles = append(roles, r.Role)
			}
			for _, r := range mediatype.CoreRoles() {
				if !slices.Contains(roles, r) {
					t.Errorf("core role %s not accounted for", r)
				}
			}
			if !slices.IsSortedFunc(roles, func(a, b string) int {
				if spec.RoleOrderLess(a, b) {
					return -1
				}
				if spec.RoleOrderLess(b, a) {
					return 1
				}
				return 0
			}) {
				t.Errorf("roles not in canonical order: %v", roles)
			}
			for _, c := range d.Components() {
				if c.File == "" {
					continue
				}
				if filepath.IsAbs(c.File) || !filepath.IsLocal(filepath.FromSlash(c.File)) {
					t.Errorf("%s: file %s is not below the example's directory", c.Field, c.File)
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(c.File)))
				if err != nil {
					t.Errorf("%s: %v", c.Field, err)
					continue
				}
				if c.Format == mediatype.FormatJSON {
					if _, err := spec.Canonicalize(b); err != nil {
						t.Errorf("%s: %s: %v", c.Field, c.File, err)
					}
				}
			}
		})
	}
}

// TestExampleFeatures pins what the examples exist to show, so that an edit
// does not quietly drop it.
func TestExampleFeatures(t *testing.T) {
	parse := func(name string) *spec.Declaration {
		t.Helper()
		file := filepath.Join(examplesDir, name, "runid.yaml")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		d, err := spec.ParseDeclaration(file, data)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	role := func(d *spec.Declaration, r string) spec.RoleDeclaration {
		for _, rd := range d.Roles {
			if rd.Role == r {
				return rd
			}
		}
		t.Fatalf("no role %s", r)
		return spec.RoleDeclaration{}
	}

	t.Run("rag-agent", func(t *testing.T) {
		d := parse("rag-agent")
		renamed := 0
		for _, c := range d.Components() {
			if c.File != "" && c.File != c.Name {
				renamed++
			}
		}
		if renamed == 0 {
			t.Error("no component whose logical name differs from its file path")
		}
		var ctx []string
		for _, c := range role(d, mediatype.RoleContext).Components {
			ctx = append(ctx, c.Name)
		}
		if len(ctx) != 4 || !slices.IsSorted(ctx) {
			t.Errorf("context: want 4 documents in declared (ranked) order, got %v", ctx)
		}
		if n := len(role(d, mediatype.RoleTools).Components); n != 2 {
			t.Errorf("tools: %d components, want 2", n)
		}
		if c := role(d, mediatype.RoleConfig).Components; len(c) != 1 || c[0].Format != mediatype.FormatYAML {
			t.Errorf("config: want one yaml component, got %+v", c)
		}
	})
	t.Run("local-weights", func(t *testing.T) {
		d := parse("local-weights")
		for _, r := range []string{mediatype.RoleContext, mediatype.RoleConfig} {
			if !role(d, r).None {
				t.Errorf("%s: want none", r)
			}
		}
		if c := role(d, mediatype.RoleSystemPrompt).Components; len(c) != 1 || c[0].Text == nil {
			t.Errorf("system-prompt: want one inline text component, got %+v", c)
		}
		if c := role(d, mediatype.RoleInput).Components; len(c) != 1 || c[0].Format != mediatype.FormatText || c[0].File == "" {
			t.Errorf("input: want one text file, got %+v", c)
		}
		m := role(d, mediatype.RoleModel).Components
		if len(m) != 1 || !bytes.Contains(m[0].Inline, []byte(`"weights":[{"digest":"sha256:`)) {
			t.Errorf("model: want weights pinned by digest, got %+v", m)
		}
	})
	t.Run("extension-role", func(t *testing.T) {
		d := parse("extension-role")
		last := d.Roles[len(d.Roles)-1]
		if last.Role != "com.example.guardrails" {
			t.Fatalf("last role is %s, want the extension role com.example.guardrails", last.Role)
		}
		if len(last.Components) != 1 || last.Components[0].Format != mediatype.FormatYAML {
			t.Errorf("want one yaml component, got %+v", last.Components)
		}
	})
}
