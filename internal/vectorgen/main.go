// Command vectorgen writes the expected outputs of the test vectors in
// spec/vectors: for every case directory holding a runid.yaml, it packs the
// declaration with pack.Load and writes manifest.json (the identity
// manifest bytes), identity.json (the identity document bytes) and
// digest.txt (the identity digest and a newline). A case with withheld
// components holds its owner's secret in secret.hex (hex, one line); its
// reveals are written below reveals/, as pack.WriteReveals names them.
//
// Run it from the module root after adding or deliberately changing a case:
//
//	go run ./internal/vectorgen            # write
//	go run ./internal/vectorgen -check     # compare only; exit 1 on a difference
//
// The committed files are the contract: spec/vectors_test.go re-derives
// every case and fails on any byte of difference, so a change to the
// packer that would change an identity cannot pass unnoticed. Regenerating
// is a decision to change the specification's vectors, not a way to make a
// test pass.
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// Output file names of a vector case.
const (
	ManifestFile = "manifest.json"
	IdentityFile = "identity.json"
	DigestFile   = "digest.txt"
	// SecretFile holds the hex withhold secret of a case with withheld
	// components (input).
	SecretFile = "secret.hex"
	// RevealsDir holds the reveals of a case's withheld components.
	RevealsDir = "reveals"
)

func main() {
	dir := flag.String("dir", "spec/vectors", "directory of the vector cases")
	check := flag.Bool("check", false, "compare with the committed outputs instead of writing them")
	flag.Parse()
	if err := run(context.Background(), *dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "vectorgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, check bool) error {
	decls, err := filepath.Glob(filepath.Join(dir, "*", "runid.yaml"))
	if err != nil {
		return err
	}
	if len(decls) == 0 {
		return fmt.Errorf("no case (*/runid.yaml) in %s", dir)
	}
	slices.Sort(decls)
	var stale []string
	for _, decl := range decls {
		caseDir := filepath.Dir(decl)
		secret, err := readSecret(caseDir)
		if err != nil {
			return err
		}
		c, err := pack.Load(ctx, decl, pack.BuildOptions{WithholdSecret: secret})
		if err != nil {
			return err
		}
		// A vector must be something a reader accepts.
		if _, err := spec.ParseIdentity(c.Identity.ManifestBytes, c.Identity.DocumentBytes); err != nil {
			return fmt.Errorf("%s: %w", caseDir, err)
		}
		outputs := map[string][]byte{
			ManifestFile: c.Identity.ManifestBytes,
			IdentityFile: c.Identity.DocumentBytes,
			DigestFile:   []byte(c.Digest().String() + "\n"),
		}
		names := []string{ManifestFile, IdentityFile, DigestFile}
		reveals, err := revealFiles(c)
		if err != nil {
			return err
		}
		for name, data := range reveals {
			outputs[name] = data
			names = append(names, name)
		}
		slices.Sort(names[3:])
		for _, name := range names {
			path := filepath.Join(caseDir, name)
			old, err := os.ReadFile(path)
			if err == nil && bytes.Equal(old, outputs[name]) {
				continue
			}
			if check {
				stale = append(stale, path)
				continue
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, outputs[name], 0o644); err != nil {
				return err
			}
			fmt.Println("wrote", path)
		}
		fmt.Printf("%-24s %s\n", filepath.Base(caseDir), c.Digest())
	}
	if len(stale) > 0 {
		return fmt.Errorf("%d outputs differ from what the packer produces: %v", len(stale), stale)
	}
	return nil
}

// readSecret returns the withhold secret of a case (secret.hex), or nil
// when it has none.
func readSecret(caseDir string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(caseDir, SecretFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(caseDir, SecretFile), err)
	}
	return secret, nil
}

// revealFiles returns the reveal files of c's withheld components, by
// slash path below the case directory (RevealsDir/<name>.reveal.json).
func revealFiles(c *pack.Composition) (map[string][]byte, error) {
	if len(c.Reveals) == 0 {
		return nil, nil
	}
	tmp, err := os.MkdirTemp("", "vectorgen-reveals-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	paths, err := pack.WriteReveals(c, tmp)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, p := range paths {
		rel, err := filepath.Rel(tmp, p)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out[filepath.ToSlash(filepath.Join(RevealsDir, rel))] = data
	}
	return out, nil
}
