package pull

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"

	"github.com/runid/runid-oci/spec"
)

// Resolved is a reference resolved to manifest bytes whose digest was
// computed here.
type Resolved struct {
	// Descriptor describes the manifest: its Digest and Size are those of
	// ManifestBytes; MediaType and ArtifactType are read from them.
	Descriptor ocispec.Descriptor
	// ManifestBytes are the manifest exactly as served.
	ManifestBytes []byte
}

// Resolve fetches the manifest that ref (a tag or a digest) names in src,
// reading at most opts.MaxMetadataSize bytes, and hashes the bytes itself.
// The digest of the result is always the computed one: a source that
// claims another digest for the manifest (a Docker-Content-Digest header,
// an index.json entry), or that serves other bytes for a digest reference,
// makes Resolve fail with a *VerificationError (check "manifest-digest").
// A manifest over the cap fails with ErrTooLarge, a missing reference with
// ErrNotFound.
func Resolve(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts Options) (Resolved, error) {
	opts = opts.withDefaults()
	if ref == "" {
		return Resolved{}, fmt.Errorf("resolve: %w: empty reference (want a tag or a digest)", ErrInvalidReference)
	}
	var want digest.Digest
	if strings.Contains(ref, ":") {
		d, err := digest.Parse(ref)
		if err != nil || d.Algorithm() != digest.SHA256 {
			return Resolved{}, fmt.Errorf("resolve %q: %w: not a tag nor a valid sha256 digest", ref, ErrInvalidReference)
		}
		want = d
	}

	var claimed ocispec.Descriptor
	var rc io.ReadCloser
	var err error
	if rf, ok := src.(registry.ReferenceFetcher); ok {
		claimed, rc, err = rf.FetchReference(ctx, ref)
	} else if claimed, err = src.Resolve(ctx, ref); err == nil {
		if claimed.Size > opts.MaxMetadataSize {
			return Resolved{}, fmt.Errorf("resolve %q: manifest %w: the source says %d bytes, the cap is %d", ref, ErrTooLarge, claimed.Size, opts.MaxMetadataSize)
		}
		rc, err = src.Fetch(ctx, claimed)
	}
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return Resolved{}, fmt.Errorf("resolve %q: %w: %w", ref, ErrNotFound, err)
		}
		if errors.Is(err, content.ErrMismatchedDigest) {
			// The store found that the manifest it holds is not what it
			// claims (an OCI layout's index.json): a verdict.
			return Resolved{}, &VerificationError{Reference: ref, Problems: []spec.Problem{{Check: "manifest-size", Subject: ref, Msg: err.Error()}}}
		}
		return Resolved{}, fmt.Errorf("resolve %q: %w", ref, err)
	}
	defer rc.Close()
	if claimed.Size > opts.MaxMetadataSize {
		return Resolved{}, fmt.Errorf("resolve %q: manifest %w: the source says %d bytes, the cap is %d", ref, ErrTooLarge, claimed.Size, opts.MaxMetadataSize)
	}
	data, err := io.ReadAll(io.LimitReader(rc, opts.MaxMetadataSize+1))
	if err != nil {
		return Resolved{}, fmt.Errorf("resolve %q: read manifest: %w", ref, err)
	}
	if int64(len(data)) > opts.MaxMetadataSize {
		return Resolved{}, fmt.Errorf("resolve %q: manifest %w: more than %d bytes", ref, ErrTooLarge, opts.MaxMetadataSize)
	}

	got := digest.FromBytes(data)
	res := Resolved{Descriptor: manifestDescriptor(data, got, claimed.MediaType), ManifestBytes: data}
	var probs []spec.Problem
	if want != "" && want != got {
		probs = append(probs, spec.Problem{Check: "manifest-digest", Subject: ref,
			Msg: fmt.Sprintf("asked for %s but the source served bytes that hash to %s", want, got)})
	}
	if claimed.Digest != "" && claimed.Digest != want && claimed.Digest != got {
		probs = append(probs, spec.Problem{Check: "manifest-digest", Subject: ref,
			Msg: fmt.Sprintf("the source says the manifest is %s but its bytes hash to %s", claimed.Digest, got)})
	}
	if claimed.Size != 0 && claimed.Size != int64(len(data)) {
		probs = append(probs, spec.Problem{Check: "manifest-size", Subject: ref,
			Msg: fmt.Sprintf("the source says the manifest is %d bytes but served %d", claimed.Size, len(data))})
	}
	if len(probs) > 0 {
		return res, &VerificationError{Reference: ref, Problems: probs}
	}
	opts.Logger.Debug("resolved", "reference", ref, "digest", got, "size", len(data))
	return res, nil
}

// manifestDescriptor describes manifest bytes by their computed digest; the
// media type and artifact type come from the bytes when they decode.
func manifestDescriptor(data []byte, d digest.Digest, fallbackMediaType string) ocispec.Descriptor {
	var head struct {
		MediaType    string `json:"mediaType"`
		ArtifactType string `json:"artifactType"`
	}
	_ = json.Unmarshal(data, &head)
	if head.MediaType == "" {
		head.MediaType = fallbackMediaType
	}
	return ocispec.Descriptor{MediaType: head.MediaType, ArtifactType: head.ArtifactType, Digest: d, Size: int64(len(data))}
}

// Identity is a run identity read from a source and checked structurally.
type Identity struct {
	// Reference is the reference as given.
	Reference string
	// Descriptor describes the identity manifest; its Digest is the
	// identity digest, computed from the manifest bytes.
	Descriptor ocispec.Descriptor
	// Identity holds the manifest and identity document, their exact
	// bytes, and warnings.
	*spec.Identity
}

// Inspect resolves ref, fetches the identity document by the digest the
// manifest names (capped at opts.MaxMetadataSize) and checks the pair
// against every structural rule of spec/SPEC.md §6 with spec.ParseIdentity.
// It fetches no component blob. An identity that breaks a rule fails with a
// *VerificationError listing every problem.
func Inspect(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts Options) (*Identity, error) {
	opts = opts.withDefaults()
	rep := newReport(ref)
	id, err := inspect(ctx, src, ref, opts, rep)
	if err != nil {
		return nil, err
	}
	if err := rep.err(); err != nil {
		return nil, err
	}
	return id, nil
}

// inspect runs Resolve, the identity document fetch and the structural
// checks, recording checks in rep. It returns an error only when the
// identity could not be checked; a failed check leaves id nil.
func inspect(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts Options, rep *Report) (*Identity, error) {
	res, err := Resolve(ctx, src, ref, opts)
	return inspectResolved(ctx, src, ref, opts, rep, res, err)
}

// inspectResolved is inspect after Resolve gave res and err.
func inspectResolved(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts Options, rep *Report, res Resolved, err error) (*Identity, error) {
	var ve *VerificationError
	if errors.As(err, &ve) {
		rep.Digest = res.Descriptor.Digest
		rep.addProblems(ve.Problems)
		return nil, nil
	}
	if errors.Is(err, ErrTooLarge) {
		// Over the metadata cap: not an identity a reader accepts
		// (spec/SPEC.md §6.2 step 1).
		rep.fail("manifest-size", ref, err.Error())
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rep.Digest = res.Descriptor.Digest
	rep.pass("manifest-digest", ref, "the manifest bytes hash to "+res.Descriptor.Digest.String())

	m, err := spec.ParseManifest(res.ManifestBytes)
	if err != nil {
		return nil, rep.addSpecError(err)
	}
	cfg := m.Config
	if cfg.Size > opts.MaxMetadataSize {
		rep.fail("config-size", "identity document", fmt.Sprintf("the manifest claims %d bytes, over the cap of %d", cfg.Size, opts.MaxMetadataSize))
		return nil, nil
	}
	if cfg.Size < 0 {
		rep.fail("config-size", "identity document", fmt.Sprintf("the manifest claims a negative size %d", cfg.Size))
		return nil, nil
	}
	// The config descriptor is pinned to what the verified manifest says;
	// its bytes are hashed below by spec.ParseIdentity.
	var buf memSink
	if err := fetchVerified(ctx, src, cfg, "identity document", &buf, make([]byte, copyBufSize), opts); err != nil {
		var bp *blobProblem
		if errors.As(err, &bp) {
			// The document is missing, or its bytes or length differ
			// from the config descriptor (spec/SPEC.md §6.2 step 4).
			check := "config-digest"
			if bp.check == "blob-missing" {
				check = "config-missing"
			}
			rep.fail(check, "identity document", bp.msg)
			return nil, nil
		}
		return nil, err
	}
	id, err := spec.ParseIdentity(res.ManifestBytes, buf.Bytes())
	if err != nil {
		return nil, rep.addSpecError(err)
	}
	for _, w := range id.Warnings {
		opts.Logger.Warn("identity document", "reference", ref, "warning", w)
	}
	rep.pass("structure", "", fmt.Sprintf("%d components; every core role accounted for; layers and identity document agree", len(id.Document.Components)))
	out := &Identity{Reference: ref, Descriptor: res.Descriptor, Identity: id}
	rep.Identity = out
	return out, nil
}
