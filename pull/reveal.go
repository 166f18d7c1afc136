package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// MaxCommitmentSize is the largest commitment document (the blob of a
// withheld component, spec/SPEC.md §7.2) that is read: 4 KiB. A real one
// is under 200 bytes.
const MaxCommitmentSize = 4 << 10

// MaxRevealFileSize is the largest reveal file ReadReveal accepts: 64 KiB.
const MaxRevealFileSize = 64 << 10

// checkCommitments is the withheld-commitment check of every withheld
// component whose blob verified (results holds the failed blobs): its
// commitment document is fetched again (it is small), and must be
// canonical JSON that parses (spec.ParseCommitment) and whose disclosed
// media type fits the component's role (spec.CheckCommitmentRole). A
// verifier without the owner's secret can check no more (spec/SPEC.md
// §7.2).
func checkCommitments(ctx context.Context, src oras.ReadOnlyTarget, id *Identity, opts Options, rep *Report, results map[digest.Digest]*blobProblem) error {
	for i, c := range id.Document.Components {
		if !c.Withheld() || results[c.Digest] != nil {
			continue
		}
		_, cm, err := fetchCommitment(ctx, src, id.Manifest.Layers[i], c.Name, opts)
		var bp *blobProblem
		switch {
		case errors.As(err, &bp):
			rep.fail("withheld-commitment", c.Name, bp.msg)
			continue
		case errors.Is(err, spec.ErrCommitment):
			rep.fail("withheld-commitment", c.Name, err.Error())
			continue
		case err != nil:
			return err
		}
		if err := spec.CheckCommitmentRole(c.Role, cm); err != nil {
			rep.fail("withheld-commitment", c.Name, err.Error())
			continue
		}
		rep.pass("withheld-commitment", c.Name, "commits to a "+cm.MediaType+" component; its content cannot be checked without a reveal")
	}
	return nil
}

// fetchCommitment fetches, verifies and parses the commitment document of
// a withheld layer. A blob that does not verify, or is over
// MaxCommitmentSize, is a *blobProblem; a document that does not parse or
// is not canonical wraps spec.ErrCommitment.
func fetchCommitment(ctx context.Context, src oras.ReadOnlyTarget, layer ocispec.Descriptor, name string, opts Options) ([]byte, *spec.Commitment, error) {
	if layer.Size > MaxCommitmentSize {
		return nil, nil, &blobProblem{check: "withheld-commitment", msg: fmt.Sprintf("the commitment document is %d bytes; one is at most %d", layer.Size, MaxCommitmentSize)}
	}
	var buf memSink
	if err := fetchVerified(ctx, src, plain(layer), fmt.Sprintf("commitment of %q", name), &buf, make([]byte, MaxCommitmentSize), opts); err != nil {
		return nil, nil, err
	}
	doc := buf.Bytes()
	cm, err := spec.ParseCommitment(doc)
	if err != nil {
		return nil, nil, err
	}
	if canon, err := spec.Canonicalize(doc); err != nil || !bytes.Equal(canon, doc) {
		return nil, nil, fmt.Errorf("%w: the commitment document is not in RFC 8785 canonical form", spec.ErrCommitment)
	}
	return doc, cm, nil
}

// ReadReveal reads a reveal file, as pack.WriteReveals writes it
// (spec/SPEC.md §7.3). It must be a JSON object of at most
// MaxRevealFileSize bytes with the members of spec.Reveal and no others,
// all of them given (spec/SPEC.md §7.3). Errors wrap
// spec.ErrCommitment, or are the error of opening the file.
func ReadReveal(path string) (spec.Reveal, error) {
	f, err := pack.OpenRegular(path)
	if err != nil {
		return spec.Reveal{}, fmt.Errorf("read reveal: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRevealFileSize+1))
	if err != nil {
		return spec.Reveal{}, fmt.Errorf("read reveal %s: %w", path, err)
	}
	if len(data) > MaxRevealFileSize {
		return spec.Reveal{}, fmt.Errorf("reveal %s: %w: over %d bytes", path, spec.ErrCommitment, MaxRevealFileSize)
	}
	var rv spec.Reveal
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rv); err != nil {
		return spec.Reveal{}, fmt.Errorf("reveal %s: %w: %v", path, spec.ErrCommitment, err)
	}
	if dec.More() {
		return spec.Reveal{}, fmt.Errorf("reveal %s: %w: data after the JSON object", path, spec.ErrCommitment)
	}
	var missing []string
	for field, v := range map[string]string{"role": rv.Role, "name": rv.Name, "mediaType": rv.MediaType,
		"contentDigest": rv.ContentDigest.String(), "salt": rv.Salt, "commitment": rv.Commitment.String()} {
		if v == "" {
			missing = append(missing, field)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return spec.Reveal{}, fmt.Errorf("reveal %s: %w: missing %v", path, spec.ErrCommitment, missing)
	}
	for field, d := range map[string]digest.Digest{"commitment": rv.Commitment, "contentDigest": rv.ContentDigest} {
		if err := d.Validate(); err != nil {
			return spec.Reveal{}, fmt.Errorf("reveal %s: %w: %s: %v", path, spec.ErrCommitment, field, err)
		}
	}
	return rv, nil
}

// RevealOptions configure VerifyReveal. The zero value is valid.
type RevealOptions struct {
	Options
	// MaxStructuredSize caps the content of a json component, which is
	// canonicalized in memory before it is checked. Default:
	// pack.DefaultMaxStructuredSize.
	MaxStructuredSize int64
}

// VerifyReveal proves that content is exactly the withheld component that
// reveal opens, in the identity that ref names in src (spec/SPEC.md §7.3).
// It verifies the identity completely, as Verify does, then finds the
// component by reveal.Role and reveal.Name, requires it to be withheld with
// the commitment the reveal names, and checks content against the
// commitment document with the reveal's salt (spec.CheckReveal), streaming
// it. The content of a json component is first canonicalized (RFC 8785),
// as pack does, so that the original file verifies however it is
// formatted; other formats are taken byte for byte.
//
// The report has a "reveal" check; it passes only when the content is the
// component. Any failure is a *VerificationError; any other error means
// the identity could not be checked (the report is then nil).
func VerifyReveal(ctx context.Context, src oras.ReadOnlyTarget, ref string, reveal spec.Reveal, content io.Reader, opts RevealOptions) (*Report, error) {
	o := opts.Options.withDefaults()
	if opts.MaxStructuredSize <= 0 {
		opts.MaxStructuredSize = pack.DefaultMaxStructuredSize
	}
	rep, err := Verify(ctx, src, ref, VerifyOptions{Options: o})
	if rep == nil {
		return nil, err
	}
	id := rep.Identity
	if id == nil {
		return rep, rep.err()
	}
	subject := reveal.Name
	i := -1
	for j, c := range id.Document.Components {
		if c.Name == reveal.Name {
			i = j
			break
		}
	}
	if i < 0 {
		rep.fail("reveal", subject, fmt.Sprintf("the identity has no component named %q", reveal.Name))
		return rep, rep.err()
	}
	c := id.Document.Components[i]
	switch {
	case reveal.Role != "" && c.Role != reveal.Role:
		rep.fail("reveal", subject, fmt.Sprintf("the component has role %s, the reveal says %s", c.Role, reveal.Role))
		return rep, rep.err()
	case !c.Withheld():
		rep.fail("reveal", subject, "the component is disclosed, not withheld: compare the file with the pulled component instead")
		return rep, rep.err()
	case reveal.Commitment != "" && reveal.Commitment != c.Digest:
		rep.fail("reveal", subject, fmt.Sprintf("the reveal opens commitment %s, the identity holds %s: it is the reveal of another identity or content", reveal.Commitment, c.Digest))
		return rep, rep.err()
	}
	doc, cm, err := fetchCommitment(ctx, src, id.Manifest.Layers[i], c.Name, o)
	var bp *blobProblem
	switch {
	case errors.As(err, &bp):
		rep.fail("reveal", subject, bp.msg)
		return rep, rep.err()
	case errors.Is(err, spec.ErrCommitment):
		rep.fail("reveal", subject, err.Error())
		return rep, rep.err()
	case err != nil:
		return nil, err
	}
	if _, format, ok := mediatype.ParseComponent(cm.MediaType); ok && format == mediatype.FormatJSON {
		data, err := io.ReadAll(io.LimitReader(content, opts.MaxStructuredSize+1))
		if err != nil {
			return nil, fmt.Errorf("read revealed content: %w", err)
		}
		if int64(len(data)) > opts.MaxStructuredSize {
			rep.fail("reveal", subject, fmt.Sprintf("the json content is over %d bytes", opts.MaxStructuredSize))
			return rep, rep.err()
		}
		canon, err := spec.Canonicalize(data)
		if err != nil {
			rep.fail("reveal", subject, fmt.Sprintf("the component is json but the content is not: %v", err))
			return rep, rep.err()
		}
		content = bytes.NewReader(canon)
	}
	if err := spec.CheckReveal(doc, reveal, content); err != nil {
		if !errors.Is(err, spec.ErrCommitment) {
			return nil, err
		}
		rep.fail("reveal", subject, err.Error())
		return rep, rep.err()
	}
	o.Logger.Debug("reveal verified", "name", c.Name, "commitment", c.Digest)
	rep.pass("reveal", subject, fmt.Sprintf("the content is exactly the withheld %s component %q (%d bytes)", c.Role, c.Name, reveal.Size))
	return rep, rep.err()
}
