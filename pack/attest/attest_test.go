package attest_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/spec"
)

const examples = "../../testdata/examples"

// setup pushes the minimal identity (tag v1), an output record of it and an
// artifact (tag artifact) to a fresh layout.
func setup(t *testing.T) (oras.Target, *pack.Composition, referrer.AttachResult) {
	t.Helper()
	store, _ := testutil.NewLayout(t)
	c := testutil.Load(t, filepath.Join(examples, "minimal", "runid.yaml"))
	testutil.Push(t, store, c, "v1")
	rec, err := referrer.Attach(t.Context(), store, "v1", nil, referrer.AttachOptions{Execution: map[string]any{
		spec.FactInstanceID: "run-1", spec.FactStartedAt: "2025-03-01T10:00:00Z", spec.FactEndedAt: "2025-03-01T10:00:02Z"}})
	if err != nil {
		t.Fatal(err)
	}
	other := testutil.Load(t, filepath.Join(examples, "rag-agent", "runid.yaml"))
	testutil.Push(t, store, other, "artifact")
	return store, c, rec
}

// TestAttest: the statement stored names the artifact, the identity and the
// record; attesting the same statement again with the same key adds
// nothing; each attestation verifies with the signer's key.
func TestAttest(t *testing.T) {
	store, c, rec := setup(t)
	sv := testutil.Key(t)
	opts := attest.Options{Repository: "registry.example/runs", Record: rec.Descriptor.Digest.String(),
		Sign: sign.SignOptions{Created: time.Unix(0, 0)}}
	res, err := attest.Attest(t.Context(), store, "artifact", "v1", sv, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity.Digest != c.Digest() || res.OutputRecord != rec.Descriptor.Digest || res.Attestations != 1 || res.AlreadyAttested {
		t.Fatalf("result %+v", res)
	}
	p, err := attest.ParseStatement(res.Statement)
	if err != nil || p.Run == nil || p.Run.OutputRecord.Execution[spec.FactInstanceID] != "run-1" {
		t.Fatalf("statement %v %+v", err, p)
	}
	if s := p.Statement.GetSubject()[0].GetDigest()["sha256"]; s != res.Subject.Digest.Encoded() {
		t.Errorf("subject %s, artifact %s", s, res.Subject.Digest)
	}
	// The same statement again: nothing added.
	again, err := attest.Attest(t.Context(), store, "artifact", "v1", sv, opts)
	if err != nil || !again.AlreadyAttested || again.Attestations != 1 || again.Attestation.Digest != res.Attestation.Digest {
		t.Fatalf("again: %v %+v", err, again)
	}
	// Another predicate is appended.
	opts.Statement.Predicate = attest.PredicateSLSA
	slsa, err := attest.Attest(t.Context(), store, "artifact", "v1", sv, opts)
	if err != nil || slsa.Attestations != 2 {
		t.Fatalf("slsa: %v %+v", err, slsa)
	}
	// Every layer verifies with the key and names the artifact.
	_, m, err := oras.FetchBytes(t.Context(), store, slsa.Tag, oras.DefaultFetchBytesOptions)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := sign.ParseManifest(m)
	if err != nil || sign.KindOf(parsed) != sign.KindAttestationTag || parsed.Subject == nil || parsed.Subject.Digest != res.Subject.Digest {
		t.Fatalf("manifest %v %+v", err, parsed)
	}
	for _, l := range parsed.Layers {
		env, err := content(t, store, l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sign.VerifyDSSE(env, sv, res.Subject.Digest); err != nil {
			t.Errorf("layer %s: %v", l.Digest, err)
		}
	}
}

func content(t *testing.T, store oras.ReadOnlyTarget, d ocispec.Descriptor) ([]byte, error) {
	t.Helper()
	_, b, err := oras.FetchBytes(t.Context(), store, d.Digest.String(), oras.DefaultFetchBytesOptions)
	return b, err
}

// TestAttestErrors: what cannot be attested is refused before anything is
// written.
func TestAttestErrors(t *testing.T) {
	store, c, rec := setup(t)
	sv := testutil.Key(t)
	otherRec, err := referrer.Attach(t.Context(), store, "artifact", nil, referrer.AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ok := attest.Options{Repository: "registry.example/runs"}
	for _, tc := range []struct {
		name         string
		artifact, id string
		opts         func(o attest.Options) attest.Options
		want         error
	}{
		{"no repository", "artifact", "v1", func(o attest.Options) attest.Options { o.Repository = ""; return o }, spec.ErrInvalidLink},
		{"repository with a digest", "artifact", "v1", func(o attest.Options) attest.Options { o.Repository = "r@sha256:00"; return o }, spec.ErrInvalidLink},
		{"unknown predicate", "artifact", "v1", func(o attest.Options) attest.Options { o.Statement.Predicate = "spdx"; return o }, attest.ErrPredicate},
		{"missing artifact", "nope", "v1", nil, sign.ErrSignSubject},
		{"missing identity", "artifact", "nope", nil, referrer.ErrNotFound},
		{"identity that is a record", "artifact", rec.Descriptor.Digest.String(), nil, referrer.ErrNotIdentity},
		{"record of another identity", "artifact", "v1", func(o attest.Options) attest.Options { o.Record = otherRec.Descriptor.Digest.String(); return o }, spec.ErrInvalidPredicate},
		{"record that is an identity", "artifact", "v1", func(o attest.Options) attest.Options { o.Record = c.Digest().String(); return o }, spec.ErrInvalidOutput},
		{"bad format", "artifact", "v1", func(o attest.Options) attest.Options { o.Sign.Format = "x"; return o }, sign.ErrSignatureFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			if tc.opts != nil {
				o = tc.opts(o)
			}
			_, err := attest.Attest(t.Context(), store, tc.artifact, tc.id, sv, o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSignStatementRefusesAnotherSubject: a statement that does not name
// the subject is not signed.
func TestSignStatementRefusesAnotherSubject(t *testing.T) {
	store, _, _ := setup(t)
	subject, _, _, _ := vectorInputs(t)
	stmt := readFile(t, filepath.Join(vectorDir, "statement-run.json"))
	artifact, err := sign.ResolveSubject(t.Context(), store, "artifact")
	if err != nil {
		t.Fatal(err)
	}
	if artifact.Digest == subject.Digest {
		t.Fatal("the vector's subject is the artifact")
	}
	_, err = sign.SignStatement(t.Context(), store, artifact, stmt, testutil.Key(t), sign.SignOptions{})
	if !errors.Is(err, sign.ErrSignSubject) || !errors.Is(err, sign.ErrClaimMismatch) {
		t.Fatalf("err = %v", err)
	}
	if _, err := store.Resolve(t.Context(), "sha256-"+artifact.Digest.Encoded()+".att"); err == nil {
		t.Error("something was stored")
	}
}
