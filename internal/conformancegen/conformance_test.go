package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/target"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

const suite = "../../spec/conformance"

// TestUpToDate checks that the committed suite is what the generator
// makes.
func TestUpToDate(t *testing.T) {
	files, err := Generate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := Compare(suite, files); err != nil {
		t.Fatal(err)
	}
}

// cases lists the case directories of one part of the suite.
func cases(t *testing.T, part string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(suite, part, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no %s cases in %s: %v", part, suite, err)
	}
	return dirs
}

func readExpected(t *testing.T, dir string) Expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e Expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestDeclarationCases packs every declaration case with pack.Load, as
// runid-oci push and digest do.
func TestDeclarationCases(t *testing.T) {
	for _, dir := range cases(t, "declarations") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			exp := readExpected(t, dir)
			comp, err := pack.Load(t.Context(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{})
			if exp.Verdict == "accept" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				for file, want := range map[string][]byte{"manifest.json": comp.Identity.ManifestBytes, "identity.json": comp.Identity.DocumentBytes} {
					if got, err := os.ReadFile(filepath.Join(dir, file)); err != nil || string(got) != string(want) {
						t.Errorf("%s differs from what was packed (%v)", file, err)
					}
				}
				if comp.Digest().String() != exp.Digest {
					t.Errorf("digest %s, want %s", comp.Digest(), exp.Digest)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted (%s), want a refusal of class %s", comp.Digest(), exp.Refusal)
			}
			if got := refusal(err); got != exp.Refusal {
				t.Errorf("refusal class %s, want %s: %v", got, exp.Refusal, err)
			}
			if exp.Line > 0 {
				var fe *spec.FieldError
				if !errors.As(err, &fe) || fe.Line != exp.Line || fe.Column != exp.Column {
					t.Errorf("error %v is not at line %d, column %d", err, exp.Line, exp.Column)
				}
			}
		})
	}
}

// refusal maps this implementation's errors to the suite's refusal
// classes.
func refusal(err error) string {
	var fe *spec.FieldError
	if !errors.As(err, &fe) {
		if errors.Is(err, spec.ErrInvalidJSON) || errors.Is(err, spec.ErrInvalidFormat) {
			return RefuseComponent
		}
		return "other: " + err.Error()
	}
	msg := fe.Msg
	switch {
	case errors.Is(err, spec.ErrInvalidName), errors.Is(err, spec.ErrDuplicateName):
		return RefuseName
	case errors.Is(err, spec.ErrInvalidJSON):
		return RefuseNumber
	case errors.Is(err, spec.ErrMissingRole), errors.Is(err, spec.ErrUnknownRole), errors.Is(err, spec.ErrUnsupportedVersion):
		return RefuseStruct
	case strings.Contains(msg, "tab character"), strings.Contains(msg, "duplicate key"), strings.Contains(msg, "anchors"),
		strings.Contains(msg, "directive"), strings.Contains(msg, "YAML document"), strings.Contains(msg, "not valid YAML"):
		return RefuseYAML
	case fe.Column > 0:
		return RefuseText
	case strings.Contains(msg, "nested"), strings.Contains(msg, "levels deep"):
		return RefuseDepth
	}
	return RefuseStruct
}

// TestVerifierCases checks every verifier case with the library
// functions behind runid-oci verify: the failing checks must be exactly
// the expected set.
func TestVerifierCases(t *testing.T) {
	ctx := t.Context()
	for _, dir := range cases(t, "verifier") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			exp := readExpected(t, dir)
			// A case gives its layout as a directory or as a tar file.
			layout := filepath.Join(t.TempDir(), "layout")
			if _, err := os.Stat(filepath.Join(dir, "layout.tar")); err == nil {
				layout += ".tar"
				if err := os.WriteFile(layout, readFile(t, filepath.Join(dir, "layout.tar")), 0o444); err != nil {
					t.Fatal(err)
				}
			} else if err := os.CopyFS(layout, os.DirFS(filepath.Join(dir, "layout"))); err != nil {
				t.Fatal(err)
			}
			tgt, err := target.Open(ctx, layout, true, target.Options{OCILayout: true})
			if err != nil {
				t.Fatalf("open layout: %v", err)
			}
			src := tgt.Store
			got, err := failingChecks(ctx, src, dir, exp)
			if err != nil {
				t.Fatalf("could not verify: %v", err)
			}
			want := exp.Checks
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("failing checks %v, want %v", got, want)
			}
		})
	}
}

// failingChecks runs the case and returns the sorted set of failing check
// identifiers.
func failingChecks(ctx context.Context, src oras.ReadOnlyTarget, dir string, exp Expected) ([]string, error) {
	var rep *pull.Report
	var err error
	switch {
	case exp.Kind == KindLink:
		return linkChecks(ctx, src, exp.Reference)
	case exp.Reveal != "":
		r, rerr := pull.ReadReveal(filepath.Join(dir, exp.Reveal))
		if rerr != nil {
			return nil, rerr
		}
		f, ferr := os.Open(filepath.Join(dir, exp.Component))
		if ferr != nil {
			return nil, ferr
		}
		defer f.Close()
		rep, err = pull.VerifyReveal(ctx, src, exp.Reference, r, f, pull.RevealOptions{})
	default:
		opts := pull.VerifyOptions{}
		if exp.Declaration != "" {
			opts.Declaration = filepath.Join(dir, exp.Declaration)
		}
		if exp.Key != "" {
			key, kerr := sigverify.LoadPublicKeyFile(filepath.Join(dir, exp.Key))
			if kerr != nil {
				return nil, kerr
			}
			opts.Signatures = sigverify.Verifier{Key: key}
		}
		rep, err = pull.Verify(ctx, src, exp.Reference, opts)
	}
	var ve *pull.VerificationError
	if err != nil && !errors.As(err, &ve) {
		return nil, err
	}
	out := []string{}
	for _, c := range rep.Checks {
		if !c.OK && !slices.Contains(out, c.Check) {
			out = append(out, c.Check)
		}
	}
	slices.Sort(out)
	return out, nil
}

// linkChecks checks the link that ref names (spec/SPEC.md §8.2) with
// spec.ParseLink, as runid-oci discover does for every link it meets.
func linkChecks(ctx context.Context, src oras.ReadOnlyTarget, ref string) ([]string, error) {
	res, err := pull.Resolve(ctx, src, ref, pull.Options{})
	if err != nil {
		return nil, err
	}
	var m struct {
		Config ocispec.Descriptor `json:"config"`
	}
	if err := json.Unmarshal(res.ManifestBytes, &m); err != nil {
		return nil, err
	}
	doc, err := content.FetchAll(ctx, src, m.Config)
	if err != nil {
		return nil, err
	}
	_, err = spec.ParseLink(res.ManifestBytes, doc)
	out := []string{}
	var re *spec.RecordError
	if errors.As(err, &re) {
		for _, p := range re.Problems {
			if !slices.Contains(out, p.Check) {
				out = append(out, p.Check)
			}
		}
	} else if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
