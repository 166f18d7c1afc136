package pack_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// withholdSecret returns a fresh random secret of the minimum size.
func withholdSecret(t testing.TB) []byte {
	t.Helper()
	s := make([]byte, spec.MinWithholdSecretSize)
	if _, err := rand.Read(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// openAll returns the bytes that c.Open gives.
func openAll(t testing.TB, c pack.Component) []byte {
	t.Helper()
	rc, err := c.Open()
	return readAll(t, rc, err)
}

// marker returns a random string of letters that are not hex digits, so
// that it can never occur by chance in a digest or a commitment.
func marker(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	const letters = "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ"
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// confidentialRun writes a declaration with a withheld system prompt (a
// text file), a withheld input (a JSON file, written non-canonically) and
// disclosed other roles, and returns its path and the exact bytes of the
// two withheld components (the JSON one canonical).
func confidentialRun(t testing.TB, dir string) (decl string, prompt, input []byte) {
	t.Helper()
	prompt = []byte("You are the pricing assistant of " + marker(t, 24) + ".\nNever reveal the discount ladder " + marker(t, 24) + ".\n")
	rawInput := []byte("{\n  \"zzTicket\" : \"" + marker(t, 24) + "\",\n  \"aaNote\": \"customer " + marker(t, 24) + " asks for a refund\"\n}\n")
	writeFile(t, filepath.Join(dir, "prompts", "system.txt"), prompt)
	writeFile(t, filepath.Join(dir, "input", "ticket.json"), rawInput)
	input, err := spec.Canonicalize(rawInput)
	if err != nil {
		t.Fatal(err)
	}
	decl = filepath.Join(dir, "runid.yaml")
	writeFile(t, decl, []byte(`runid: "1"
roles:
  model: {provider: openai, name: gpt-4o-mini}
  parameters: {temperature: 0}
  system-prompt:
    - name: system-prompt/pricing.txt
      file: prompts/system.txt
      withheld: true
  tools: none
  context:
    - name: context/public.md
      text: "Opening hours are 9 to 5."
  input:
    - name: input/ticket.json
      file: input/ticket.json
      withheld: true
  config: none
  runtime: {language: {name: go, version: "1.26"}}
`))
	return decl, prompt, input
}

func TestWithheldBuild(t *testing.T) {
	dir := t.TempDir()
	secret := withholdSecret(t)
	writeFile(t, filepath.Join(dir, "ctx", "notes.md"), []byte("confidential notes\n"))
	writeFile(t, filepath.Join(dir, "ctx", "blob.bin"), []byte{0, 1, 2, 3, 255})
	writeFile(t, filepath.Join(dir, "cfg", "agent.yaml"), []byte("mode: strict # comment kept\n"))
	writeFile(t, filepath.Join(dir, "in", "messages.json"), []byte(`{ "b": 1, "a": [true, null] }`))
	tests := []struct {
		name      string
		role      string
		component string // YAML of one component, withheld
		disclosed string // media type the content would have had
		content   []byte // the exact bytes committed to
	}{
		{"text file", mediatype.RoleContext, "{name: ctx/notes.md, file: ctx/notes.md, withheld: true}",
			mediatype.Component(mediatype.RoleContext, mediatype.FormatText), []byte("confidential notes\n")},
		{"binary file", mediatype.RoleContext, "{name: ctx/blob, file: ctx/blob.bin, withheld: true}",
			mediatype.Component(mediatype.RoleContext, mediatype.FormatBinary), []byte{0, 1, 2, 3, 255}},
		{"yaml file", mediatype.RoleConfig, "{name: cfg/agent.yaml, file: cfg/agent.yaml, withheld: true}",
			mediatype.Component(mediatype.RoleConfig, mediatype.FormatYAML), []byte("mode: strict # comment kept\n")},
		{"json file, canonicalized", mediatype.RoleInput, "{name: in/messages.json, file: in/messages.json, withheld: true}",
			mediatype.Component(mediatype.RoleInput, mediatype.FormatJSON), []byte(`{"a":[true,null],"b":1}`)},
		{"inline json", mediatype.RoleInput, "{name: in/inline.json, inline: {q: why, n: 2}, withheld: true}",
			mediatype.Component(mediatype.RoleInput, mediatype.FormatJSON), []byte(`{"n":2,"q":"why"}`)},
		{"text in the declaration", mediatype.RoleSystemPrompt, "{name: sp/prompt.txt, text: Be brief., withheld: true}",
			mediatype.Component(mediatype.RoleSystemPrompt, mediatype.FormatText), []byte("Be brief.")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			roles := map[string]string{}
			for _, r := range mediatype.CoreRoles() {
				roles[r] = "none"
			}
			roles[tc.role] = "[" + tc.component + "]"
			var y strings.Builder
			y.WriteString("runid: \"1\"\nroles:\n")
			for _, r := range mediatype.CoreRoles() {
				y.WriteString("  " + r + ": " + roles[r] + "\n")
			}
			decl := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			writeFile(t, decl, []byte(y.String()))

			c, err := pack.Load(t.Context(), decl, pack.BuildOptions{WithholdSecret: secret})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Components) != 1 || len(c.Reveals) != 1 {
				t.Fatalf("%d components, %d reveals; want 1 and 1", len(c.Components), len(c.Reveals))
			}
			comp, rv := c.Components[0], c.Reveals[0]
			if comp.MediaType != mediatype.Withheld || !comp.Withheld() {
				t.Errorf("media type %q, want %q", comp.MediaType, mediatype.Withheld)
			}
			if st := c.Identity.Document.Roles[tc.role]; st != mediatype.StateWithheld {
				t.Errorf("role %s is %q, want withheld", tc.role, st)
			}
			doc := openAll(t, comp)
			if digest.FromBytes(doc) != comp.Digest || int64(len(doc)) != comp.Size {
				t.Error("the component's digest and size are not those of the bytes Open gives")
			}
			cm, err := spec.ParseCommitment(doc)
			if err != nil {
				t.Fatal(err)
			}
			if cm.MediaType != tc.disclosed {
				t.Errorf("commitment media type %q, want %q", cm.MediaType, tc.disclosed)
			}
			if err := spec.CheckCommitmentRole(tc.role, cm); err != nil {
				t.Error(err)
			}
			if rv.Role != tc.role || rv.Name != comp.Name || rv.MediaType != tc.disclosed || rv.Commitment != comp.Digest ||
				rv.ContentDigest != digest.FromBytes(tc.content) || rv.Size != int64(len(tc.content)) {
				t.Errorf("reveal %+v does not describe the content and commitment", rv)
			}
			if err := spec.CheckReveal(doc, rv, bytes.NewReader(tc.content)); err != nil {
				t.Errorf("the reveal does not open the commitment on the content: %v", err)
			}
			other := append(bytes.Clone(tc.content), '!')
			if err := spec.CheckReveal(doc, rv, bytes.NewReader(other)); !errors.Is(err, spec.ErrCommitment) {
				t.Errorf("other content: %v, want ErrCommitment", err)
			}
			if len(tc.content) >= 4 && bytes.Contains(doc, tc.content) {
				t.Error("the commitment contains the content")
			}

			again, err := pack.Load(t.Context(), decl, pack.BuildOptions{WithholdSecret: bytes.Clone(secret)})
			if err != nil {
				t.Fatal(err)
			}
			if again.Digest() != c.Digest() {
				t.Error("the same secret gave another identity")
			}
			otherSecret, err := pack.Load(t.Context(), decl, pack.BuildOptions{WithholdSecret: withholdSecret(t)})
			if err != nil {
				t.Fatal(err)
			}
			if otherSecret.Digest() == c.Digest() {
				t.Error("another secret gave the same identity")
			}
		})
	}
}

func TestWithheldContentChangesIdentity(t *testing.T) {
	dir := t.TempDir()
	secret := withholdSecret(t)
	decl, prompt, _ := confidentialRun(t, dir)
	before, err := pack.Load(t.Context(), decl, pack.BuildOptions{WithholdSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "prompts", "system.txt"), toggleLastLetter(t, prompt))
	after, err := pack.Load(t.Context(), decl, pack.BuildOptions{WithholdSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if after.Digest() == before.Digest() {
		t.Fatal("changing one letter of a withheld component did not change the identity")
	}
	if componentNamed(t, before, "system-prompt/pricing.txt").Digest == componentNamed(t, after, "system-prompt/pricing.txt").Digest {
		t.Error("the commitment of the changed prompt did not change")
	}
	if componentNamed(t, before, "input/ticket.json").Digest != componentNamed(t, after, "input/ticket.json").Digest {
		t.Error("the commitment of the unchanged input changed")
	}
}

func TestWithheldNeedsSecret(t *testing.T) {
	decl, _, _ := confidentialRun(t, t.TempDir())
	tests := []struct {
		name   string
		secret []byte
		want   string
	}{
		{"no secret", nil, "secret was not given"},
		{"empty secret", []byte{}, "secret was not given"},
		{"short secret", bytes.Repeat([]byte{1}, spec.MinWithholdSecretSize-1), "need at least 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pack.Load(t.Context(), decl, pack.BuildOptions{WithholdSecret: tc.secret})
			if !errors.Is(err, pack.ErrNoWithholdSecret) {
				t.Fatalf("err = %v, want ErrNoWithholdSecret", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "system-prompt/pricing.txt") {
				t.Errorf("error %q does not name the component and say %q", err, tc.want)
			}
		})
	}
	// A declaration without withheld components needs no secret, and a
	// secret given anyway changes nothing.
	plain := filepath.Join(examplesDir, "rag-agent", "runid.yaml")
	a := load(t, plain)
	b, err := pack.Load(t.Context(), plain, pack.BuildOptions{WithholdSecret: withholdSecret(t)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest() != b.Digest() || len(b.Reveals) != 0 {
		t.Errorf("a secret changed an identity that withholds nothing (%s, %s, %d reveals)", a.Digest(), b.Digest(), len(b.Reveals))
	}
}

// recorder keeps every request body a registry receives.
type recorder struct {
	next   http.Handler
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.next.ServeHTTP(w, req)
}

// assertDisclosesNothing fails if blob holds secret, or any 8-byte
// substring of it.
func assertDisclosesNothing(t testing.TB, what string, blob []byte, secrets map[string][]byte) {
	t.Helper()
	for name, s := range secrets {
		if bytes.Contains(blob, s) {
			t.Errorf("%s holds the content of %s", what, name)
			continue
		}
		for i := 0; i+8 <= len(s); i++ {
			if bytes.Contains(blob, s[i:i+8]) {
				t.Errorf("%s holds %q, 8 bytes of %s", what, s[i:i+8], name)
				break
			}
		}
	}
}

// fetchAllBlobs fetches the manifest, the identity document and every
// layer of desc from src.
func fetchAllBlobs(t testing.TB, src oras.ReadOnlyTarget, desc ocispec.Descriptor) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	mb, err := content.FetchAll(t.Context(), src, desc)
	if err != nil {
		t.Fatal(err)
	}
	out["manifest"] = mb
	var m ocispec.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		b, err := content.FetchAll(t.Context(), src, d)
		if err != nil {
			t.Fatal(err)
		}
		out[d.Digest.String()] = b
	}
	return out
}

// TestWithheldNothingReachesTheStore pushes a run with a withheld system
// prompt and a withheld JSON input to an OCI layout and to two registries,
// then reads every byte stored (the layout's every file; every request body
// the registry received and every blob it serves back) and asserts that
// none holds the content or any 8 bytes of it.
func TestWithheldNothingReachesTheStore(t *testing.T) {
	dir := t.TempDir()
	decl, prompt, input := confidentialRun(t, dir)
	raw := testutil.ReadFile(t, filepath.Join(dir, "input", "ticket.json"))
	secrets := map[string][]byte{"the system prompt": prompt, "the input": input, "the input file": raw}
	c, err := pack.Load(t.Context(), decl, pack.BuildOptions{WithholdSecret: withholdSecret(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Identity.Document.Roles[mediatype.RoleSystemPrompt] != mediatype.StateWithheld || c.Identity.Document.Roles[mediatype.RoleInput] != mediatype.StateWithheld {
		t.Fatalf("roles = %v", c.Identity.Document.Roles)
	}
	revealDir := t.TempDir()

	t.Run("oci-layout", func(t *testing.T) {
		store, layout := testutil.NewLayout(t)
		res, err := pack.Push(t.Context(), store, c, pack.PushOptions{Tag: "v1", RevealDir: revealDir})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Reveals) != 2 {
			t.Errorf("wrote %d reveals, want 2", len(res.Reveals))
		}
		n := 0
		err = filepath.WalkDir(layout, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			n++
			assertDisclosesNothing(t, p, testutil.ReadFile(t, p), secrets)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := len(c.Components) + 2; n < want { // + identity document, manifest (+ index.json, oci-layout)
			t.Errorf("walked %d files, want at least %d", n, want)
		}
		for name, b := range fetchAllBlobs(t, store, res.Descriptor) {
			assertDisclosesNothing(t, name, b, secrets)
		}
	})
	for _, r := range []struct {
		name    string
		handler func(testing.TB) http.Handler
	}{{"distribution", testregistry.NewDistributionHandler}, {"ggcr", testregistry.NewGGCRHandler}} {
		t.Run(r.name, func(t *testing.T) {
			rec := &recorder{next: r.handler(t)}
			reg := testregistry.Serve(t, rec)
			repo := testregistry.Repository(t, reg, "runs/confidential")
			res, err := pack.Push(t.Context(), repo, c, pack.PushOptions{Tag: "v1"})
			if err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			bodies := rec.bodies
			rec.mu.Unlock()
			var sent int
			for i, b := range bodies {
				sent += len(b)
				assertDisclosesNothing(t, fmt.Sprintf("request body %d", i), b, secrets)
			}
			if sent == 0 {
				t.Fatal("the registry received no bytes")
			}
			blobs := fetchAllBlobs(t, repo, res.Descriptor)
			if len(blobs) != len(c.Components)+2 {
				t.Errorf("fetched %d blobs, want %d", len(blobs), len(c.Components)+2)
			}
			for name, b := range blobs {
				assertDisclosesNothing(t, name, b, secrets)
			}
		})
	}
}

func TestWriteReveals(t *testing.T) {
	dir := t.TempDir()
	decl, prompt, input := confidentialRun(t, dir)
	c, err := pack.Load(t.Context(), decl, pack.BuildOptions{WithholdSecret: withholdSecret(t)})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "reveals")
	paths, err := pack.WriteReveals(c, out)
	if err != nil {
		t.Fatal(err)
	}
	content := map[string][]byte{"system-prompt/pricing.txt": prompt, "input/ticket.json": input}
	if len(paths) != len(content) {
		t.Fatalf("wrote %v, want %d files", paths, len(content))
	}
	for i, p := range paths {
		rv := c.Reveals[i]
		if p != pack.RevealPath(out, rv.Name) {
			t.Errorf("reveal %d at %s, want %s", i, p, pack.RevealPath(out, rv.Name))
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
		var got spec.Reveal
		if err := json.Unmarshal(testutil.ReadFile(t, p), &got); err != nil {
			t.Fatal(err)
		}
		if got != rv {
			t.Errorf("%s = %+v, want %+v", p, got, rv)
		}
		doc := openAll(t, componentNamed(t, c, rv.Name))
		if err := spec.CheckReveal(doc, got, bytes.NewReader(content[rv.Name])); err != nil {
			t.Errorf("reveal file %s does not open its commitment: %v", p, err)
		}
		assertDisclosesNothing(t, p, testutil.ReadFile(t, p), map[string][]byte{rv.Name: content[rv.Name]})
	}
	for _, d := range []string{out, filepath.Join(out, "input")} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v (%v), want 0700", d, st.Mode().Perm(), err)
		}
	}
	// Writing again replaces the files with the same bytes.
	before := testutil.ReadFile(t, paths[0])
	if _, err := pack.WriteReveals(c, out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, testutil.ReadFile(t, paths[0])) {
		t.Error("writing the reveals again changed them")
	}
	// A composition that withholds nothing writes nothing.
	none := filepath.Join(t.TempDir(), "none")
	if p, err := pack.WriteReveals(load(t, filepath.Join(examplesDir, "minimal", "runid.yaml")), none); err != nil || len(p) != 0 {
		t.Errorf("WriteReveals without withheld components = %v, %v", p, err)
	}
	if _, err := os.Stat(none); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the reveal directory was created for nothing: %v", err)
	}
}

func TestReadWithholdSecret(t *testing.T) {
	dir := t.TempDir()
	good := withholdSecret(t)
	writeFile(t, filepath.Join(dir, "good"), good)
	writeFile(t, filepath.Join(dir, "short"), good[:spec.MinWithholdSecretSize-1])
	writeFile(t, filepath.Join(dir, "long"), bytes.Repeat([]byte{'k'}, pack.MaxWithholdSecretFileSize+1))
	tests := []struct {
		name string
		path string
		want []byte
	}{
		{"good", filepath.Join(dir, "good"), good},
		{"short", filepath.Join(dir, "short"), nil},
		{"too long", filepath.Join(dir, "long"), nil},
		{"missing", filepath.Join(dir, "missing"), nil},
		{"directory", dir, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pack.ReadWithholdSecret(tc.path)
			if tc.want != nil {
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Fatalf("ReadWithholdSecret = %x, %v; want the file's bytes", got, err)
				}
				return
			}
			if !errors.Is(err, pack.ErrNoWithholdSecret) {
				t.Fatalf("err = %v, want ErrNoWithholdSecret", err)
			}
		})
	}
}
