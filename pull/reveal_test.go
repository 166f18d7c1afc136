package pull_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

// withheldRun is a run with a withheld system prompt (text file) and a
// withheld input (a JSON file written non-canonically), built with a fresh
// secret.
type withheldRun struct {
	dir        string
	decl       string
	secret     []byte
	comp       *pack.Composition
	prompt     []byte // the system prompt file
	inputFile  []byte // the input file as written
	promptName string
	inputName  string
}

func newWithheldRun(t testing.TB) withheldRun {
	t.Helper()
	r := withheldRun{dir: t.TempDir(), promptName: "system-prompt/agent.txt", inputName: "input/case.json"}
	r.secret = make([]byte, spec.MinWithholdSecretSize)
	if _, err := rand.Read(r.secret); err != nil {
		t.Fatal(err)
	}
	r.prompt = []byte("You answer questions about case " + hex.EncodeToString(r.secret[:4]) + " only.\n")
	r.inputFile = []byte("{\n  \"question\": \"Where is my parcel?\",\n  \"case\": 4711\n}\n")
	for name, data := range map[string][]byte{"prompt.txt": r.prompt, "case.json": r.inputFile} {
		if err := os.WriteFile(filepath.Join(r.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.decl = filepath.Join(r.dir, "runid.yaml")
	decl := `runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: {temperature: 0}
  system-prompt: [{name: ` + r.promptName + `, file: prompt.txt, withheld: true}]
  tools: none
  context: [{name: context/faq.md, text: "Parcels ship in 2 days."}]
  input: [{name: ` + r.inputName + `, file: case.json, withheld: true}]
  config: none
  runtime: none
`
	if err := os.WriteFile(r.decl, []byte(decl), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := pack.Load(t.Context(), r.decl, pack.BuildOptions{WithholdSecret: r.secret})
	if err != nil {
		t.Fatal(err)
	}
	r.comp = c
	return r
}

// reveal returns the reveal of the component named name.
func (r withheldRun) reveal(t testing.TB, name string) spec.Reveal {
	t.Helper()
	for _, rv := range r.comp.Reveals {
		if rv.Name == name {
			return rv
		}
	}
	t.Fatalf("no reveal for %q", name)
	return spec.Reveal{}
}

func checkOK(rep *pull.Report, check, subject string) bool {
	for _, c := range rep.Checks {
		if c.Check == check && c.Subject == subject {
			return c.OK
		}
	}
	return false
}

func TestVerifyWithheld(t *testing.T) {
	r := newWithheldRun(t)
	for _, src := range sources {
		t.Run(src.Name, func(t *testing.T) {
			store := src.Open(t, func(tg oras.Target) { testutil.Push(t, tg, r.comp, tag) })
			rep, err := pull.Verify(t.Context(), store, tag, pull.VerifyOptions{})
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			for _, name := range []string{r.promptName, r.inputName} {
				if !checkOK(rep, "withheld-commitment", name) {
					t.Errorf("no passed withheld-commitment check for %s: %+v", name, rep.Checks)
				}
			}
			if checkOK(rep, "withheld-commitment", "context/faq.md") {
				t.Error("a disclosed component got a withheld-commitment check")
			}
		})
	}
	t.Run("against the declaration", func(t *testing.T) {
		store, _ := testutil.NewLayout(t)
		testutil.Push(t, store, r.comp, tag)
		rep, err := pull.Verify(t.Context(), store, tag, pull.VerifyOptions{Declaration: r.decl, Build: pack.BuildOptions{WithholdSecret: r.secret}})
		if err != nil || !checkOK(rep, "declaration", r.decl) {
			t.Fatalf("verify against the declaration with the secret: %v", err)
		}
		_, err = pull.Verify(t.Context(), store, tag, pull.VerifyOptions{Declaration: r.decl})
		if !errors.Is(err, pack.ErrNoWithholdSecret) {
			t.Errorf("verify against the declaration without the secret: %v, want ErrNoWithholdSecret", err)
		}
	})
}

func TestVerifyReveal(t *testing.T) {
	r := newWithheldRun(t)
	store, _ := testutil.NewLayout(t)
	testutil.Push(t, store, r.comp, tag)
	other := newWithheldRun(t) // same names, another secret and prompt

	promptRV, inputRV := r.reveal(t, r.promptName), r.reveal(t, r.inputName)
	canonicalInput, err := spec.Canonicalize(r.inputFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		reveal  func() spec.Reveal
		content []byte
		ok      bool
		msg     string // in the failed reveal check
	}{
		{"text, exact", func() spec.Reveal { return promptRV }, r.prompt, true, ""},
		{"json, the original file", func() spec.Reveal { return inputRV }, r.inputFile, true, ""},
		{"json, canonical", func() spec.Reveal { return inputRV }, canonicalInput, true, ""},
		{"json, reformatted", func() spec.Reveal { return inputRV }, []byte(`{"case":4711,   "question":"Where is my parcel?"}`), true, ""},
		{"another file", func() spec.Reveal { return promptRV }, append(bytes.Clone(r.prompt), ' '), false, "does not match"},
		{"the other component's file", func() spec.Reveal { return promptRV }, canonicalInput, false, "does not match"},
		{"json, other value", func() spec.Reveal { return inputRV }, []byte(`{"case":4712,"question":"Where is my parcel?"}`), false, "does not match"},
		{"json component, content not json", func() spec.Reveal { return inputRV }, []byte("Where is my parcel?"), false, "not"},
		{"salt changed", func() spec.Reveal {
			rv := promptRV
			rv.Salt = strings.Repeat("0", 64)
			return rv
		}, r.prompt, false, "does not match"},
		{"reveal of another identity", func() spec.Reveal { return other.reveal(t, r.promptName) }, other.prompt, false, "another identity"},
		{"no such component", func() spec.Reveal {
			rv := promptRV
			rv.Name = "system-prompt/missing.txt"
			return rv
		}, r.prompt, false, "no component named"},
		{"other role", func() spec.Reveal {
			rv := promptRV
			rv.Role = mediatype.RoleContext
			return rv
		}, r.prompt, false, "role"},
		{"disclosed component", func() spec.Reveal {
			rv := promptRV
			rv.Name, rv.Role = "context/faq.md", mediatype.RoleContext
			return rv
		}, []byte("Parcels ship in 2 days."), false, "disclosed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rv := tc.reveal()
			rep, err := pull.VerifyReveal(t.Context(), store, tag, rv, bytes.NewReader(tc.content), pull.RevealOptions{})
			if tc.ok {
				if err != nil {
					t.Fatalf("VerifyReveal: %v", err)
				}
				if !rep.Verified || !checkOK(rep, "reveal", rv.Name) {
					t.Errorf("report %+v: want verified with a passed reveal check", rep.Checks)
				}
				return
			}
			testutil.WantVerificationError(t, err, "reveal")
			wantFailedChecks(t, rep, "reveal")
			for _, c := range rep.Checks {
				if c.Check == "reveal" && !strings.Contains(c.Message, tc.msg) {
					t.Errorf("reveal check message %q does not say %q", c.Message, tc.msg)
				}
			}
			// The failure is the reveal's alone: the identity verified.
			for _, c := range rep.Checks {
				if !c.OK && c.Check != "reveal" {
					t.Errorf("unexpected failed check %+v", c)
				}
			}
		})
	}
}

// pushHandMade pushes an identity whose only system-prompt component is
// withheld with blob as its "commitment document".
func pushHandMade(t testing.TB, target oras.Target, blob []byte) {
	t.Helper()
	model := []byte(`{"name":"m"}`)
	comps := []spec.ComponentEntry{
		{Role: mediatype.RoleModel, Name: "model.json", MediaType: mediatype.Component(mediatype.RoleModel, mediatype.FormatJSON), Digest: digest.FromBytes(model), Size: int64(len(model))},
		{Role: mediatype.RoleSystemPrompt, Name: "system.txt", MediaType: mediatype.Withheld, Digest: digest.FromBytes(blob), Size: int64(len(blob))},
	}
	id, err := spec.BuildIdentity(mediatype.CoreRoles(), comps)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, b := range [][]byte{model, blob, id.DocumentBytes} {
		if err := target.Push(ctx, ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(b), Size: int64(len(b))}, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := target.Push(ctx, id.Descriptor(), bytes.NewReader(id.ManifestBytes)); err != nil {
		t.Fatal(err)
	}
	if err := target.Tag(ctx, id.Descriptor(), tag); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyBadCommitment(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	textType := mediatype.Component(mediatype.RoleSystemPrompt, mediatype.FormatText)
	good, err := spec.NewCommitment(textType, bytes.Repeat([]byte{0xab}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		blob []byte
		ok   bool
	}{
		{"valid", good, true},
		{"the content itself", []byte("You are a helpful assistant."), false},
		{"not canonical", []byte(`{"mediaType":"` + textType + `","commitment":"` + sum + `","algorithm":"hmac-sha256"}`), false},
		{"other algorithm", []byte(`{"algorithm":"sha256","commitment":"` + sum + `","mediaType":"` + textType + `"}`), false},
		{"short commitment", []byte(`{"algorithm":"hmac-sha256","commitment":"abab","mediaType":"` + textType + `"}`), false},
		{"extra member", []byte(`{"algorithm":"hmac-sha256","commitment":"` + sum + `","content":"x","mediaType":"` + textType + `"}`), false},
		{"media type of another role", []byte(`{"algorithm":"hmac-sha256","commitment":"` + sum + `","mediaType":"application/vnd.runid.tools.v1+json"}`), false},
		{"format the role does not allow", []byte(`{"algorithm":"hmac-sha256","commitment":"` + sum + `","mediaType":"application/vnd.runid.system-prompt.v1.binary"}`), false},
		{"over the size cap", append(bytes.Clone(good), bytes.Repeat([]byte(" "), pull.MaxCommitmentSize)...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := testutil.NewLayout(t)
			pushHandMade(t, store, tc.blob)
			rep, err := pull.Verify(t.Context(), store, tag, pull.VerifyOptions{})
			if tc.ok {
				if err != nil || !checkOK(rep, "withheld-commitment", "system.txt") {
					t.Fatalf("verify: %v", err)
				}
				return
			}
			testutil.WantVerificationError(t, err, "withheld-commitment")
			wantFailedChecks(t, rep, "withheld-commitment")

			dir := filepath.Join(t.TempDir(), "out")
			_, err = pull.Pull(t.Context(), store, tag, dir, pull.PullOptions{})
			testutil.WantVerificationError(t, err, "withheld-commitment")
			if _, serr := os.Stat(dir); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("pull of an identity that does not verify left %s: %v", dir, serr)
			}
		})
	}
}

func TestReadReveal(t *testing.T) {
	r := newWithheldRun(t)
	dir := t.TempDir()
	paths, err := pack.WriteReveals(r.comp, dir)
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	var asMap map[string]any
	if err := json.Unmarshal(good, &asMap); err != nil {
		t.Fatal(err)
	}
	edited := func(edit func(map[string]any)) []byte {
		m := map[string]any{}
		for k, v := range asMap {
			m[k] = v
		}
		edit(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"as written", good, true},
		{"compact", edited(func(map[string]any) {}), true},
		{"unknown member", edited(func(m map[string]any) { m["content"] = "x" }), false},
		{"no salt", edited(func(m map[string]any) { delete(m, "salt") }), false},
		{"no name", edited(func(m map[string]any) { delete(m, "name") }), false},
		{"no content digest", edited(func(m map[string]any) { delete(m, "contentDigest") }), false},
		{"no media type", edited(func(m map[string]any) { delete(m, "mediaType") }), false},
		{"bad content digest", edited(func(m map[string]any) { m["contentDigest"] = "sha256:00" }), false},
		{"bad commitment digest", edited(func(m map[string]any) { m["commitment"] = "sha256:xyz" }), false},
		{"trailing data", append(bytes.Clone(good), []byte("{}")...), false},
		{"not json", []byte("salt=00"), false},
		{"too large", append(bytes.Clone(good), bytes.Repeat([]byte(" "), pull.MaxRevealFileSize)...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "r.json")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			rv, err := pull.ReadReveal(p)
			if tc.ok {
				if err != nil || rv != r.comp.Reveals[0] {
					t.Fatalf("ReadReveal = %+v, %v; want %+v", rv, err, r.comp.Reveals[0])
				}
				return
			}
			if !errors.Is(err, spec.ErrCommitment) {
				t.Fatalf("err = %v, want spec.ErrCommitment", err)
			}
		})
	}
	if _, err := pull.ReadReveal(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
