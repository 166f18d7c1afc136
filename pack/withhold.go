package pack

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
	"github.com/runid/runid-oci/spec"
)

// Withholding (spec/SPEC.md §7). A component declared `withheld: true` is
// hashed like any other (its content digest d, over the bytes of §4.4),
// then streamed a second time through HMAC-SHA-256 keyed by its salt
// spec.WithholdSalt(secret, d). Its layer is the commitment document
// spec.NewCommitment(disclosed media type, HMAC), and its reveal
// (spec.Reveal) goes to Composition.Reveals. Push uploads the commitment
// only: the content of a withheld component is never opened by Push.

// MaxWithholdSecretFileSize is the largest withhold secret file that
// ReadWithholdSecret accepts, in bytes.
const MaxWithholdSecretFileSize = 4096

// RevealSuffix ends the name of every reveal file that WriteReveals
// writes: the component "system-prompt/agent.md" has its reveal in
// "system-prompt/agent.md.reveal.json".
const RevealSuffix = ".reveal.json"

// ReadWithholdSecret reads a withhold secret file: its bytes, exactly (no
// trimming), are the secret. It must be a regular file of
// spec.MinWithholdSecretSize to MaxWithholdSecretFileSize bytes; make one
// with `head -c 32 /dev/urandom > withhold.secret` and keep it private
// (mode 0600) and backed up: without it the identity of a declaration with
// withheld components cannot be reproduced. Errors wrap
// ErrNoWithholdSecret.
func ReadWithholdSecret(path string) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoWithholdSecret, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoWithholdSecret, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNoWithholdSecret, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxWithholdSecretFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrNoWithholdSecret, path, err)
	}
	switch {
	case len(data) > MaxWithholdSecretFileSize:
		return nil, fmt.Errorf("%w: %s is over %d bytes; a withhold secret is %d to %d random bytes",
			ErrNoWithholdSecret, path, MaxWithholdSecretFileSize, spec.MinWithholdSecretSize, MaxWithholdSecretFileSize)
	case len(data) < spec.MinWithholdSecretSize:
		return nil, fmt.Errorf("%w: %s holds %d bytes, need at least %d (make one with: head -c 32 /dev/urandom > %s)",
			ErrNoWithholdSecret, path, len(data), spec.MinWithholdSecretSize, path)
	}
	return data, nil
}

// checkWithholdSecret fails when a component is withheld and secret is
// missing or too short.
func checkWithholdSecret(decls []spec.ComponentDeclaration, secret []byte) error {
	for _, d := range decls {
		if !d.Withheld {
			continue
		}
		if len(secret) == 0 {
			return fmt.Errorf("component %q at %s is withheld: %w: the owner's secret was not given",
				d.Name, d.Field, ErrNoWithholdSecret)
		}
		if len(secret) < spec.MinWithholdSecretSize {
			return fmt.Errorf("component %q at %s is withheld: %w: the secret is %d bytes, need at least %d",
				d.Name, d.Field, ErrNoWithholdSecret, len(secret), spec.MinWithholdSecretSize)
		}
	}
	return nil
}

// withhold turns a built component into its commitment. c carries the
// content digest and size of the first pass; the content is streamed a
// second time (a file through the reader that fails with
// ErrComponentChanged if it is no longer the bytes hashed) into the HMAC.
// The returned component holds the commitment document only.
func withhold(c Component, secret []byte) (Component, error) {
	salt, err := spec.WithholdSalt(secret, c.Digest)
	if err != nil {
		return Component{}, fmt.Errorf("component %q: %w: %w", c.Name, ErrNoWithholdSecret, err)
	}
	rc, err := c.Open()
	if err != nil {
		return Component{}, fmt.Errorf("component %q: %w", c.Name, err)
	}
	defer rc.Close()
	h := spec.CommitmentHash(salt)
	n, err := io.CopyBuffer(h, rc, make([]byte, 64<<10))
	if err != nil {
		return Component{}, fmt.Errorf("withhold component %q: %w", c.Name, err)
	}
	if n != c.Size {
		return Component{}, fmt.Errorf("withhold component %q: %w: read %d bytes, hashed %d", c.Name, ErrComponentChanged, n, c.Size)
	}
	doc, err := spec.NewCommitment(c.MediaType, h.Sum(nil))
	if err != nil {
		return Component{}, fmt.Errorf("withhold component %q: %w", c.Name, err)
	}
	w := Component{Source: c.Source, data: doc}
	w.Role, w.Name = c.Role, c.Name
	w.MediaType, w.Digest, w.Size = mediatype.Withheld, digest.FromBytes(doc), int64(len(doc))
	w.reveal = &spec.Reveal{
		Role: c.Role, Name: c.Name, MediaType: c.MediaType,
		ContentDigest: c.Digest, Size: c.Size,
		Salt: hex.EncodeToString(salt), Commitment: w.Digest,
	}
	return w, nil
}

// reveals collects the reveals of the withheld components, in order.
func reveals(comps []Component) []spec.Reveal {
	var out []spec.Reveal
	for _, c := range comps {
		if c.reveal != nil {
			out = append(out, *c.reveal)
		}
	}
	return out
}

// RevealPath returns the path of a component's reveal file below a reveal
// directory, as WriteReveals names it: the logical name (a relative,
// slash-separated path, spec/SPEC.md §4.2) followed by RevealSuffix.
func RevealPath(dir, name string) string {
	return filepath.Join(dir, filepath.FromSlash(name+RevealSuffix))
}

// WriteReveals writes the reveal of every withheld component of c into
// dir, one JSON file per component at RevealPath(dir, name), and returns
// the paths written, in identity order. dir and the folders below it are
// created with mode 0700 and files with mode 0600: a reveal lets whoever
// holds it test guesses of the content, so it is shared only with the
// auditor of that one component. Each file is written to a temporary
// name and renamed, so a reader never sees a partial reveal; an existing
// reveal is replaced (the same identity always has the same reveals).
// Nothing is written, and dir is not created, when c withholds nothing.
func WriteReveals(c *Composition, dir string) ([]string, error) {
	if len(c.Reveals) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("write reveals: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("write reveals: %w", err)
	}
	defer root.Close()
	paths := make([]string, 0, len(c.Reveals))
	for _, rv := range c.Reveals {
		if err := spec.ValidateName(rv.Name); err != nil {
			return paths, fmt.Errorf("write reveal of %q: %w", rv.Name, err)
		}
		data, err := json.MarshalIndent(rv, "", "  ")
		if err != nil {
			return paths, fmt.Errorf("write reveal of %q: %w", rv.Name, err)
		}
		data = append(data, '\n')
		rel := filepath.FromSlash(rv.Name + RevealSuffix)
		if err := writeFileAtomic(root, rel, data); err != nil {
			return paths, fmt.Errorf("write reveal of %q: %w", rv.Name, err)
		}
		paths = append(paths, filepath.Join(dir, rel))
	}
	return paths, nil
}

// writeFileAtomic writes data to name in root (mode 0600) through a
// temporary file in the same folder.
func writeFileAtomic(root *os.Root, name string, data []byte) error {
	if d := filepath.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	tmp := filepath.Join(filepath.Dir(name), ".tmp-"+path.Base(filepath.ToSlash(name)))
	_ = root.Remove(tmp) // a leftover of an interrupted write
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := io.Copy(f, bytes.NewReader(data))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = root.Rename(tmp, name)
	}
	if werr != nil {
		_ = root.Remove(tmp)
	}
	return werr
}

// beforePush runs what Push does before uploading: the credential scan
// (unless opts.AllowSecrets) and writing the reveals (if opts.RevealDir).
func beforePush(ctx context.Context, c *Composition, opts PushOptions) ([]string, error) {
	if !opts.AllowSecrets {
		findings, err := Scan(ctx, c, scan.Options{Logger: opts.Logger})
		if err != nil {
			return nil, fmt.Errorf("scan for credentials: %w", err)
		}
		if len(findings) > 0 {
			return nil, &scan.SecretsError{Findings: findings}
		}
	}
	if opts.RevealDir == "" || len(c.Reveals) == 0 {
		return nil, nil
	}
	dir := filepath.Join(opts.RevealDir, c.Digest().Encoded())
	paths, err := WriteReveals(c, dir)
	if err != nil {
		return nil, err
	}
	opts.Logger.Info("wrote reveals", "dir", dir, "count", len(paths))
	return paths, nil
}
