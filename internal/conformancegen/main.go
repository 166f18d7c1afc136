// Command conformancegen writes the conformance suite in spec/conformance
// (its declarations/ and verifier/ directories; the README is written by
// hand): every case is made here, from the rules it pins down, and the
// expected verdicts are stated here, next to the case.
//
//	go run ./internal/conformancegen          # write
//	go run ./internal/conformancegen -check   # compare only; exit 1 on a difference
//
// The generated files are committed: another implementation runs them
// without Go. TestUpToDate fails when they differ from what this command
// makes, and the other tests of this package run the suite against this
// implementation.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runid/runid-oci/pack"
)

// Expected is the content of a case's expected.json.
type Expected struct {
	Description string `json:"description"`
	// Declaration cases.
	Verdict string `json:"verdict"`          // accept | refuse (declarations); valid | invalid | unsupported (verifier)
	Digest  string `json:"digest,omitempty"` // accepted: the identity digest
	Refusal string `json:"refusal,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	// Verifier cases.
	Kind      string `json:"kind,omitempty"`
	Reference string `json:"reference,omitempty"`
	Key       string `json:"key,omitempty"`
	Reveal    string `json:"reveal,omitempty"`
	// Declaration is the declaration to verify the identity against (§6.4).
	Declaration string   `json:"declaration,omitempty"`
	Component   string   `json:"component,omitempty"`
	Checks      []string `json:"checks,omitempty"`
}

// Generated directories below the suite's root.
var generatedDirs = []string{"declarations", "verifier"}

func main() {
	dir := flag.String("dir", "spec/conformance", "root of the conformance suite")
	check := flag.Bool("check", false, "compare with the committed files instead of writing them")
	flag.Parse()
	files, err := Generate(context.Background())
	if err == nil {
		if *check {
			err = Compare(*dir, files)
		} else {
			err = write(*dir, files)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformancegen:", err)
		os.Exit(1)
	}
}

// Generate makes every file of the generated directories, by path
// relative to the suite's root.
func Generate(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, dc := range declarationCases {
		if err := genDeclaration(ctx, dc, out); err != nil {
			return nil, fmt.Errorf("declaration case %s: %w", dc.name, err)
		}
	}
	for _, vc := range append(append(slices.Clone(verifierCases), recordCases...), declaredCases...) {
		genVerifier(vc, out)
	}
	return out, nil
}

func genDeclaration(ctx context.Context, dc dcase, out map[string][]byte) error {
	base := "declarations/" + dc.name
	out[base+"/runid.yaml"] = []byte(dc.decl)
	for name, content := range dc.files {
		out[base+"/"+name] = []byte(content)
	}
	exp := Expected{Description: dc.description}
	if dc.refuse != "" {
		exp.Verdict, exp.Refusal, exp.Line, exp.Column = "refuse", dc.refuse, dc.line, dc.col
		out[base+"/expected.json"] = encode(exp)
		return nil
	}
	tmp, err := os.MkdirTemp("", "conformancegen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for p, b := range out {
		if rel, ok := strings.CutPrefix(p, base+"/"); ok {
			if err := os.WriteFile(filepath.Join(tmp, rel), b, 0o644); err != nil {
				return err
			}
		}
	}
	comp, err := pack.Load(ctx, filepath.Join(tmp, "runid.yaml"), pack.BuildOptions{})
	if err != nil {
		return err
	}
	out[base+"/manifest.json"] = comp.Identity.ManifestBytes
	out[base+"/identity.json"] = comp.Identity.DocumentBytes
	exp.Verdict, exp.Digest = "accept", comp.Digest().String()
	out[base+"/expected.json"] = encode(exp)
	return nil
}

func genVerifier(vc vcase, out map[string][]byte) {
	base := "verifier/" + vc.name
	l := newLayout()
	extra := vc.build(l)
	if vc.tar {
		out[base+"/layout.tar"] = l.tar()
	} else {
		l.files(base+"/layout", out)
	}
	exp := Expected{Description: vc.description, Kind: vc.kind, Reference: tag, Checks: vc.checks}
	if vc.byDigest {
		exp.Reference = l.index[len(l.index)-1].Digest.String()
	}
	switch {
	case len(vc.checks) == 0:
		exp.Verdict = "valid"
	case slices.Equal(vc.checks, []string{"spec-version"}):
		exp.Verdict = "unsupported"
	default:
		exp.Verdict = "invalid"
	}
	if vc.key {
		exp.Key = "cosign.pub"
		out[base+"/cosign.pub"] = publicPEM(loadKey(testKeyPEM))
	}
	if vc.declaration != nil {
		exp.Declaration = "declaration/runid.yaml"
		for name, b := range vc.declaration {
			out[base+"/declaration/"+name] = []byte(b)
		}
	}
	if extra != nil {
		exp.Reveal, exp.Component = "reveal.json", "component"
		for name, b := range extra {
			out[base+"/"+name] = b
		}
	}
	out[base+"/expected.json"] = encode(exp)
}

func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// write replaces the generated directories below root with files.
func write(root string, files map[string][]byte) error {
	for _, d := range generatedDirs {
		if err := os.RemoveAll(filepath.Join(root, d)); err != nil {
			return err
		}
	}
	for p, b := range files {
		path := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Compare reports every generated file that differs from, is missing
// from or is extra in the generated directories below root.
func Compare(root string, files map[string][]byte) error {
	var diffs []string
	seen := map[string]bool{}
	for _, d := range generatedDirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			seen[rel] = true
			want, ok := files[rel]
			if !ok {
				diffs = append(diffs, rel+": not generated")
				return nil
			}
			got, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, want) {
				diffs = append(diffs, rel+": differs")
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for p := range files {
		if !seen[p] {
			diffs = append(diffs, p+": missing")
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return fmt.Errorf("%d files out of date (run go run ./internal/conformancegen):\n  %s", len(diffs), strings.Join(diffs, "\n  "))
	}
	return nil
}
