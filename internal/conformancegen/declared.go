package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/spec"
)

// baseDeclaration declares the base identity of the verifier cases: packed
// with question (the input file), it gives that identity exactly when
// question is inputBytes.
func baseDeclaration(question string) map[string]string {
	return map[string]string{
		"runid.yaml": `runid: "1"
roles:
  model: {provider: example, name: example-model}
  parameters: none
  system-prompt: none
  tools: none
  context: none
  input:
    - name: input/question.txt
      file: question.txt
  config: none
  runtime: none
`,
		"question.txt": question,
	}
}

// declaredDigest packs the declaration files and returns its identity
// digest.
func declaredDigest(files map[string]string) digest.Digest {
	dir := must(os.MkdirTemp("", "conformancegen-"))
	defer os.RemoveAll(dir)
	for name, b := range files {
		must(0, os.WriteFile(filepath.Join(dir, name), []byte(b), 0o644))
	}
	return must(pack.Load(context.Background(), filepath.Join(dir, "runid.yaml"), pack.BuildOptions{})).Digest()
}

// declaredCases verify an identity against a declaration (§6.4), and read
// layouts given as tar files.
var declaredCases = []vcase{
	{name: "declaration-valid", description: "the identity verifies against a declaration that packs to it (§6.4)",
		kind: KindIdentity, checks: c(), declaration: baseDeclaration(string(inputBytes)),
		build: func(l *layout) map[string][]byte {
			desc := newIdentity(false).write(l, tag)
			if d := declaredDigest(baseDeclaration(string(inputBytes))); d != desc.Digest {
				panic("conformancegen: the base declaration packs to " + d.String() + ", not the base identity " + desc.Digest.String())
			}
			return nil
		}},
	{name: "declaration", description: "the declaration's input file says 8 where the identity's says 7: another digest (§6.4)",
		kind: KindIdentity, checks: c("declaration"), declaration: baseDeclaration("What is 6 times 8?"),
		build: func(l *layout) map[string][]byte { newIdentity(false).write(l, tag); return nil }},
	{name: "tar-identity-valid", description: "the base identity in an OCI image layout tar file", kind: KindIdentity, checks: c(), tar: true,
		build: func(l *layout) map[string][]byte { newIdentity(false).write(l, tag); return nil }},
	{name: "tar-blob-digest", description: "in a layout tar, the input's blob holds other bytes of the same length", kind: KindIdentity, checks: c("blob-digest"), tar: true,
		build: func(l *layout) map[string][]byte {
			id := newIdentity(false)
			id.blobs[digest.FromBytes(inputBytes)] = []byte("What is 6 times 8?")
			id.write(l, tag)
			return nil
		}},
	{name: "tar-signature-bundle", description: "in a layout tar, a Sigstore bundle referrer signed by the key (found through index.json)",
		kind: KindIdentity, key: true, checks: c(), tar: true,
		build: func(l *layout) map[string][]byte {
			signWith(l, newIdentity(false).write(l, tag), loadKey(testKeyPEM), sign.SignatureFormatBundle)
			return nil
		}},
	recordCase("execution-served-model", "a servedModel of 1025 bytes (at most 1024, §8.1; the schema fails too)", c("execution"), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactServedModel] = strings.Repeat("m", 1025)
	}),
	recordCase("execution-served-model-1024", "a servedModel of exactly 1024 bytes", c(), func(a *artifact) {
		a.doc["execution"].(map[string]any)[spec.FactServedModel] = strings.Repeat("m", 1024)
	}),
	identityCase("manifest-size-bound", "a manifest of 4 MiB and one byte (an annotation pads it): over the metadata bound", c("manifest-size"), func(id *identity) {
		id.manifest["annotations"] = map[string]any{"com.example.padding": ""}
		n := len(mustCanonical(id.manifest))
		id.manifest["annotations"] = map[string]any{"com.example.padding": strings.Repeat("x", 4<<20+1-n)}
	}),
	{name: "tar-declaration", description: "in a layout tar, the identity verifies against its declaration",
		kind: KindIdentity, checks: c(), tar: true, declaration: baseDeclaration(string(inputBytes)),
		build: func(l *layout) map[string][]byte { newIdentity(false).write(l, tag); return nil }},
}
