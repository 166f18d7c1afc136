package pull

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull/policy"
	"github.com/runid/runid-oci/spec"
)

// Check is one check of a verification, passed or failed. Check is a
// stable identifier of spec/SPEC.md §6.3, §8.5 and §10.4: manifest-digest,
// manifest-size, config-size, config-missing, config-digest, the checks
// of spec.ParseIdentity (manifest-members, role-accounted, layers-match,
// media-type...), blob-digest, blob-size, blob-missing, blob-json,
// withheld-commitment, reveal, declaration, signature, signature-count;
// "structure" marks the structural checks passed. Subject names what it
// concerns: a reference, a component name, "identity document".
type Check struct {
	Check   string `json:"check"`
	Subject string `json:"subject,omitempty"`
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}

// ComponentDifference is one component that differs between a local
// declaration (Want) and the identity read from the source (Got),
// compared by logical name. Change is "added" (only in the identity),
// "removed" (only in the declaration), "changed" (other bytes or media
// type) or "moved" (same bytes, another role or another position).
type ComponentDifference struct {
	Name   string               `json:"name"`
	Role   string               `json:"role"`
	Change string               `json:"change"`
	Want   *spec.ComponentEntry `json:"want,omitempty"`
	Got    *spec.ComponentEntry `json:"got,omitempty"`
}

// Report is the result of a verification: every check run, in order, and
// whether all passed.
type Report struct {
	// Reference is the reference as given.
	Reference string `json:"reference"`
	// Digest is the identity digest computed from the manifest bytes
	// (empty if the manifest could not be read).
	Digest digest.Digest `json:"digest"`
	// Verified is true when every check passed.
	Verified bool `json:"verified"`
	// Checks lists every check run.
	Checks []Check `json:"checks"`
	// Differences lists the components that differ from the declaration
	// given in VerifyOptions.Declaration, if any.
	Differences []ComponentDifference `json:"differences,omitempty"`
	// Identity is the identity read, when its structure checked.
	Identity *Identity `json:"-"`
	// Signatures is the signature check of the verified manifest (the
	// output record, for a chain), when VerifyOptions.Signatures or IdentitySignatures
	// is set.
	Signatures *SignatureReport `json:"signatures,omitempty"`
	// Chain lists the manifests of a chain when the reference names an
	// output record: the record, then its identity.
	Chain []ChainLink `json:"chain,omitempty"`
	// Policy is the decision of VerifyOptions.Policy, when it was
	// evaluated (every other check passed).
	Policy *policy.Decision `json:"policy,omitempty"`
	// Record is the output record read, when the reference names one.
	Record *spec.OutputRecord `json:"-"`
}

func newReport(ref string) *Report { return &Report{Reference: ref, Checks: []Check{}} }

func (r *Report) pass(check, subject, msg string) {
	r.Checks = append(r.Checks, Check{Check: check, Subject: subject, OK: true, Message: msg})
}

func (r *Report) fail(check, subject, msg string) {
	r.Checks = append(r.Checks, Check{Check: check, Subject: subject, OK: false, Message: msg})
}

func (r *Report) addProblems(ps []spec.Problem) {
	for _, p := range ps {
		r.fail(p.Check, p.Subject, p.Msg)
	}
}

// addSpecError records the problems of a *spec.IdentityError as failed
// checks and returns nil; any other error is returned as is.
func (r *Report) addSpecError(err error) error {
	var ie *spec.IdentityError
	if errors.As(err, &ie) {
		r.addProblems(ie.Problems)
		return nil
	}
	return err
}

// err sets Verified and returns a *VerificationError listing the failed
// checks, or nil.
func (r *Report) err() error {
	var probs []spec.Problem
	for _, c := range r.Checks {
		if !c.OK {
			probs = append(probs, spec.Problem{Check: c.Check, Subject: c.Subject, Msg: c.Message})
		}
	}
	r.Verified = len(probs) == 0 && len(r.Checks) > 0
	if len(probs) > 0 {
		return &VerificationError{Reference: r.Reference, Problems: probs}
	}
	return nil
}

// VerifyOptions configure Verify. The zero value is valid.
type VerifyOptions struct {
	Options
	// Declaration, if set, is the path of a runid.yaml: its composition is
	// built from the local files and must give the same identity digest.
	Declaration string
	// Build configures building Declaration.
	Build pack.BuildOptions
	// Signatures, if set, also requires a signature of the manifest that
	// it verifies (for cosign keys, a pull/sigverify.Verifier), after the
	// content checks. For an output record it checks the record's
	// signature.
	Signatures SignatureVerifier
	// IdentitySignatures, if set, checks the identity's signature when
	// its signer differs from the record's (the producer of outputs and
	// the declarer of the run are different parties).
	// Default: Signatures.
	IdentitySignatures SignatureVerifier
	// Policy, if set, is evaluated after every other check passed, on the
	// policy input of the identity (for an output record, of the record
	// and its identity) with the signatures that verified: each denial is
	// a failed "policy" check, and Report.Policy holds the decision.
	Policy *policy.Policy
	// PolicyInput bounds the content of the policy input.
	PolicyInput policy.InputOptions

	noChain       bool // verifying the identity of a chain
	noRecordBlobs bool // pulling an output record: Pull verifies its files as it extracts them
}

// Verify checks the identity that ref names in src completely: the manifest
// digest (computed, never taken from the source), every structural rule,
// and every blob (each distinct digest fetched once, streamed through a
// verifying reader and discarded). With opts.Declaration it also builds
// that declaration and requires the same digest, listing the component
// differences when it is not.
//
// With opts.Signatures (or opts.IdentitySignatures) it then checks the manifest's
// signatures (VerifySignatures): at least one must verify. When ref names
// an output record, Verify verifies the chain: the record (its structure,
// output document and files, and its signature with opts.Signatures), then the
// identity that is its subject in full (its signature with
// opts.IdentitySignatures, default opts.Signatures); Report.Chain lists both.
//
// Verify returns the report and, when any check failed, a
// *VerificationError (which wraps ErrVerification) listing the failures.
// Any other error means the identity could not be checked (not found,
// network, authentication, over a cap, an unreadable declaration); the
// report is then nil.
func Verify(ctx context.Context, src oras.ReadOnlyTarget, ref string, opts VerifyOptions) (*Report, error) {
	if rep, ok, err := verifyChain(ctx, src, ref, opts); ok {
		return rep, err
	}
	o := opts.Options.withDefaults()
	rep := newReport(ref)
	id, err := inspect(ctx, src, ref, o, rep)
	if err != nil {
		return nil, err
	}
	if id != nil {
		if err := verifyBlobs(ctx, src, id, o, rep, func(blobJob) (sink, error) { return discardSink{}, nil }); err != nil {
			return nil, err
		}
	}
	if sv := opts.identitySignatures(); sv != nil && rep.Digest != "" {
		subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: rep.Digest}
		if id != nil {
			subject = id.Descriptor
		}
		if rep.Signatures, err = verifySignatureStep(ctx, src, rep, subject, sv, ""); err != nil {
			return nil, err
		}
	}
	if opts.Declaration != "" {
		if err := compareDeclaration(ctx, opts, rep); err != nil {
			return nil, err
		}
	}
	if err := evaluatePolicy(ctx, src, rep, opts); err != nil {
		return nil, err
	}
	return rep, rep.err()
}

// blobJob is one distinct blob of an identity.
type blobJob struct {
	desc    ocispec.Descriptor
	name    string // first component with this digest
	extract bool   // some component with this digest is disclosed
	// checkJSON: the first component with this digest is a disclosed +json
	// component, whose bytes must be canonical JSON.
	checkJSON bool
}

// blobJobs lists each distinct layer digest once, in layer order.
func blobJobs(id *Identity) []blobJob {
	var jobs []blobJob
	index := map[digest.Digest]int{}
	for i, l := range id.Manifest.Layers {
		disclosed := l.MediaType != mediatype.Withheld
		if j, ok := index[l.Digest]; ok {
			jobs[j].extract = jobs[j].extract || disclosed
			continue
		}
		index[l.Digest] = len(jobs)
		jobs = append(jobs, blobJob{desc: plain(l), name: id.Document.Components[i].Name, extract: disclosed,
			checkJSON: disclosed && strings.HasSuffix(l.MediaType, "+json")})
	}
	return jobs
}

// MaxJSONComponentSize is the largest json component (spec/SPEC.md §4.3):
// 64 MiB. The blob of a +json component is held in memory to check that
// it is canonical JSON; a larger one fails blob-json without that check.
const MaxJSONComponentSize = 64 << 20

// checkJSONBlob checks that the verified bytes of a +json component are
// RFC 8785 canonical JSON, as every packer writes them (check blob-json).
func checkJSONBlob(desc ocispec.Descriptor, kept *memSink) error {
	if kept == nil {
		return &blobProblem{check: "blob-json", msg: fmt.Sprintf("%d bytes, over the %d bytes of a json component", desc.Size, MaxJSONComponentSize)}
	}
	if !spec.IsCanonical(kept.Bytes()) {
		msg := "not RFC 8785 canonical JSON"
		if _, err := spec.Canonicalize(kept.Bytes()); err != nil {
			msg = "not JSON: " + err.Error()
		}
		return &blobProblem{check: "blob-json", msg: msg}
	}
	return nil
}

// teeSink writes to two sinks.
type teeSink struct{ a, b sink }

func (t teeSink) Write(p []byte) (int, error) {
	if n, err := t.a.Write(p); err != nil {
		return n, err
	}
	return t.b.Write(p)
}

func (t teeSink) reset() error {
	if err := t.a.reset(); err != nil {
		return err
	}
	return t.b.reset()
}

// progressSink reports EventBlobBytes as bytes are written to a sink.
type progressSink struct {
	sink
	name     string
	desc     ocispec.Descriptor
	n        int64
	progress func(Event)
}

func (s *progressSink) Write(p []byte) (int, error) {
	k, err := s.sink.Write(p)
	if k > 0 {
		s.n += int64(k)
		s.progress(Event{Kind: EventBlobBytes, Name: s.name, Descriptor: s.desc, Bytes: s.n})
	}
	return k, err
}

func (s *progressSink) reset() error {
	s.n = 0
	return s.sink.reset()
}

// plain keeps what identifies a blob or manifest: media type, digest and
// size.
func plain(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// verifyBlobs fetches every distinct blob of id concurrently into the sink
// that sinkFor gives, and records blob checks for every component in
// layer order, then the withheld-commitment check of every withheld
// component (reveal.go). It returns an error only when a blob could not be
// checked.
func verifyBlobs(ctx context.Context, src oras.ReadOnlyTarget, id *Identity, opts Options, rep *Report, sinkFor func(blobJob) (sink, error)) error {
	jobs := blobJobs(id)
	results := make(map[digest.Digest]*blobProblem, len(jobs))
	var mu sync.Mutex
	bufs := make(chan []byte, opts.Concurrency)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for _, job := range jobs {
		g.Go(func() error {
			var buf []byte
			select {
			case buf = <-bufs:
			default:
				buf = make([]byte, copyBufSize)
			}
			defer func() {
				select {
				case bufs <- buf:
				default:
				}
			}()
			dst, err := sinkFor(job)
			if err != nil {
				return err
			}
			file, _ := dst.(*fileSink)
			var kept *memSink
			if job.checkJSON && job.desc.Size <= MaxJSONComponentSize {
				kept = &memSink{}
				dst = teeSink{dst, kept}
			}
			if opts.Progress != nil {
				dst = &progressSink{sink: dst, name: job.name, desc: job.desc, progress: opts.Progress}
			}
			what := fmt.Sprintf("component %q", job.name)
			err = fetchVerified(gctx, src, job.desc, what, dst, buf, opts)
			if err == nil && job.checkJSON {
				err = checkJSONBlob(job.desc, kept)
			}
			if err == nil && file != nil {
				// Durable before it is reported verified, each file as
				// its blob ends rather than all of them at the end.
				if ferr := file.flush(); ferr != nil {
					return fmt.Errorf("write component %q: %w", job.name, ferr)
				}
			}
			var bp *blobProblem
			switch {
			case errors.As(err, &bp):
				opts.Logger.Debug("blob does not verify", "name", job.name, "digest", job.desc.Digest, "check", bp.check)
			case err != nil:
				return err
			default:
				opts.Logger.Debug("blob verified", "name", job.name, "digest", job.desc.Digest, "size", job.desc.Size)
				opts.progress(Event{Kind: EventBlobVerified, Name: job.name, Descriptor: job.desc})
			}
			mu.Lock()
			results[job.desc.Digest] = bp
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, c := range id.Document.Components {
		if bp := results[c.Digest]; bp != nil {
			rep.fail(bp.check, c.Name, bp.msg)
			continue
		}
		rep.pass("blob-digest", c.Name, c.Digest.String())
		rep.pass("blob-size", c.Name, fmt.Sprintf("%d bytes", c.Size))
	}
	return checkCommitments(ctx, src, id, opts, rep, results)
}

// compareDeclaration builds opts.Declaration and compares its digest, and
// its components by name, with the identity in rep.
func compareDeclaration(ctx context.Context, opts VerifyOptions, rep *Report) error {
	comp, err := pack.Load(ctx, opts.Declaration, opts.Build)
	if err != nil {
		return fmt.Errorf("verify against declaration %s: %w", opts.Declaration, err)
	}
	if comp.Digest() == rep.Digest {
		rep.pass("declaration", opts.Declaration, "the declaration builds to the same identity digest")
		return nil
	}
	msg := fmt.Sprintf("the declaration builds to %s, not %s", comp.Digest(), rep.Digest)
	if rep.Identity != nil {
		rep.Differences = diffComponents(comp.Identity.Document.Components, rep.Identity.Document.Components)
		if len(rep.Differences) > 0 {
			msg += fmt.Sprintf("; %d components differ", len(rep.Differences))
		}
		if roles := diffRoles(comp.Identity.Document.Roles, rep.Identity.Document.Roles); roles != "" {
			msg += "; roles differ: " + roles
		}
	}
	rep.fail("declaration", opts.Declaration, msg)
	return nil
}
