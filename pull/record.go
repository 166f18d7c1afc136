package pull

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// RoleOutput is the role given to the files of an output record when Pull
// extracts them: in Report.Identity of such a pull, each file is a
// component of this role, named by its title.
const RoleOutput = "output"

// inspectForPull is inspect for Pull, which also accepts an output record
// (spec/SPEC.md §8.1). For a record it verifies the chain as Verify does
// (the record's manifest and output document, then its identity in full),
// except the record's files, which Pull verifies as it extracts them; it
// returns an Identity whose components are the record's files, and sets
// rep.Identity to it so that callers list the files written. For anything
// else it is inspect.
func inspectForPull(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts PullOptions, o Options, rep *Report) (*Identity, error) {
	res, err := Resolve(ctx, src, ref, o)
	if err != nil || res.Descriptor.ArtifactType != mediatype.OutputRecord {
		// The manifest is fetched once: an identity is checked from it.
		return inspectResolved(ctx, src, ref, o, rep, res, err)
	}
	chain, err := Verify(ctx, src, ref, VerifyOptions{Options: opts.Options, noRecordBlobs: true})
	var ve *VerificationError
	if err != nil && !errors.As(err, &ve) {
		return nil, err
	}
	if chain != nil {
		rep.Digest, rep.Checks, rep.Chain = chain.Digest, chain.Checks, chain.Chain
	}
	if err != nil {
		return nil, nil // the failed checks are in rep
	}
	// The record verified: read its (small, capped) document again to list
	// the files.
	cfg, err := recordConfig(res.ManifestBytes)
	if err != nil {
		return nil, err
	}
	if cfg.Size > o.MaxMetadataSize {
		return nil, fmt.Errorf("%s: output document %w: %d bytes, the cap is %d", ref, ErrTooLarge, cfg.Size, o.MaxMetadataSize)
	}
	var buf memSink
	if err := fetchVerified(ctx, src, plain(cfg), "output document", &buf, make([]byte, copyBufSize), o); err != nil {
		return nil, fmt.Errorf("%s: read output document: %w", ref, err)
	}
	rec, err := spec.ParseOutputRecord(res.ManifestBytes, buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	files := rec.Files()
	comps := make([]spec.ComponentEntry, len(files))
	for i, f := range files {
		comps[i] = spec.ComponentEntry{Role: RoleOutput, Name: f.Annotations[mediatype.AnnotationTitle], MediaType: f.MediaType, Digest: f.Digest, Size: f.Size}
	}
	m := rec.Manifest
	m.Layers = files
	id := &Identity{Reference: ref, Descriptor: res.Descriptor, Identity: &spec.Identity{
		Artifact: spec.Artifact{Manifest: m, ManifestBytes: rec.ManifestBytes, DocumentBytes: rec.DocumentBytes},
		Document: spec.IdentityDocument{SpecVersion: rec.Document.SpecVersion, Roles: map[string]string{}, Components: comps},
	}}
	rep.Identity = id
	return id, nil
}

// recordConfig reads the config descriptor of a record manifest that
// Verify already checked.
func recordConfig(manifest []byte) (ocispec.Descriptor, error) {
	var head struct {
		Config ocispec.Descriptor `json:"config"`
	}
	if err := json.Unmarshal(manifest, &head); err != nil {
		return ocispec.Descriptor{}, err
	}
	return head.Config, nil
}
