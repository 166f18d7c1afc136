package main

import (
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/spec"
)

// attestOutput is the output of attest.
type attestOutput struct {
	Subject         digest.Digest       `json:"subject"`
	Reference       string              `json:"reference"`
	PredicateType   string              `json:"predicateType"`
	Format          string              `json:"format"`
	Attestation     digest.Digest       `json:"attestation"`
	Tag             string              `json:"tag,omitempty"`
	Attestations    int                 `json:"attestations"`
	KeyID           string              `json:"keyID,omitempty"`
	Signer          string              `json:"signer,omitempty"`
	Identity        spec.LinkedIdentity `json:"identity"`
	OutputRecord    digest.Digest       `json:"outputRecord,omitempty"`
	AlreadyAttested bool                `json:"alreadyAttested,omitempty"`
}

func (o attestOutput) text(w io.Writer) error {
	note := ""
	if o.AlreadyAttested {
		note = " (already attested by this key)"
	}
	_, err := fmt.Fprintf(w, "Attested %s: %s naming %s, signed %s: %s-format attestation in %s%s\n",
		o.Subject, o.PredicateType, o.Identity, signedBy(o.KeyID, o.Signer), o.Format, storedIn(o.Tag, o.Attestation), note)
	return err
}

func newAttestCmd(a *app) *cobra.Command {
	var tf targetFlags
	var identity, identityRepo, record, key, predicate string
	var bundle bool
	var kf keylessSignFlags
	cmd := &cobra.Command{
		Use:   "attest ARTIFACT --identity IDENTITY (--key cosign.key | --fulcio-url URL --rekor-url URL [--identity-token FILE])",
		Short: "Sign an in-toto attestation that a run produced an artifact",
		Long: `Attest that the run identity IDENTITY produced ARTIFACT (a container image, a
model, a report: any manifest or index), in the format that "cosign
verify-attestation", Kyverno, the Sigstore policy-controller and other
in-toto tools read: an in-toto Statement v1 whose subject is ARTIFACT's
digest (computed here from its bytes), signed as a DSSE envelope with a
cosign private key (spec/SPEC.md §14).

--predicate-type run (the default) gives the run predicate
(https://runid.dev/attestation/run/v1): the identity digest and repository,
the output record given with --record and its execution facts, and every
role's state and component digest, so that a policy can decide without
fetching the identity. --predicate-type slsa gives the same fact as SLSA
Provenance v1 (https://slsa.dev/provenance/v1).

IDENTITY must exist and be a well-formed identity; --record must be an output
record of it. The attestation is stored in ARTIFACT's repository as cosign
stores attestations: by default appended to the manifest tagged
sha256-<hex>.att; with --new-bundle-format as a Sigstore bundle in an OCI 1.1
referrer. The password of the key comes from COSIGN_PASSWORD, or a prompt
when stdin is a terminal. Nothing is sent to a transparency log.

Keyless, against a Sigstore deployment you run (--fulcio-url and --rekor-url,
no --key), as "runid-oci sign" signs keylessly: a fresh key certified by that
Fulcio for the identity of the OIDC token (--identity-token FILE, or
SIGSTORE_ID_TOKEN) signs the statement, the envelope is logged in that Rekor,
and the certificate and log entry are stored with it, so that "runid-oci
verify --attestation --trusted-root" and "cosign verify-attestation
--trusted-root" check it offline.

ARTIFACT, IDENTITY and --record are opened with the same target flags.`,
		Example: `  runid-oci attest localhost:5000/images/agent:1.0 --identity localhost:5000/runs@sha256:... --key cosign.key --plain-http
  runid-oci attest --oci-layout ./images:report --identity ./runs:v1 --record ./runs@sha256:... --key cosign.key --predicate-type slsa
  runid-oci attest reg.example/images/agent:1.0 --identity reg.example/runs:v1 --fulcio-url https://fulcio.example --rekor-url https://rekor.example --identity-token token.jwt`,
		Args: exactArgs("ARTIFACT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), a.logger()
			switch {
			case identity == "":
				return usageErrorf("--identity is required: the identity that produced %s", args[0])
			}
			if err := kf.check(key); err != nil {
				return err
			}
			if _, err := attest.PredicateType(predicate); err != nil {
				return usageErrorf("--predicate-type %q: want run or slsa", predicate)
			}
			at, err := tf.openNamed(ctx, "ARTIFACT", args[0], false)
			if err != nil {
				return err
			}
			it, err := tf.openNamed(ctx, "--identity", identity, true)
			if err != nil {
				return err
			}
			opts := attest.Options{
				Statement:     attest.StatementOptions{Predicate: predicate, SubjectName: at.Display},
				Repository:    it.Display,
				IdentityStore: it.Store,
				Sign:          sign.SignOptions{Logger: log},
			}
			if identityRepo != "" {
				opts.Repository = identityRepo
			}
			if bundle {
				opts.Sign.Format = sign.SignatureFormatBundle
			}
			if record != "" {
				rt, err := tf.openNamed(ctx, "--record", record, true)
				if err != nil {
					return err
				}
				opts.Record, opts.RecordStore = rt.Reference, rt.Store
			}
			store, err := at.Writable()
			if err != nil {
				return err
			}
			var res *attest.Result
			if kf.set() {
				ko, err := kf.options(opts.Sign)
				if err != nil {
					return err
				}
				if res, err = attest.AttestKeyless(ctx, store, at.Reference, it.Reference, ko, opts); err != nil {
					return err
				}
			} else {
				signer, err := a.loadSigner(key)
				if err != nil {
					return err
				}
				if res, err = attest.Attest(ctx, store, at.Reference, it.Reference, signer, opts); err != nil {
					return err
				}
			}
			out := attestOutput{Subject: res.Subject.Digest, Reference: at.String(), PredicateType: res.PredicateType,
				Format: string(res.Format), Attestation: res.Attestation.Digest, Tag: res.Tag, Attestations: res.Attestations,
				KeyID: res.KeyID, Signer: res.Signer, Identity: res.Identity, OutputRecord: res.OutputRecord, AlreadyAttested: res.AlreadyAttested}
			log.Info("attested", "subject", out.Subject, "predicateType", out.PredicateType, "attestation", out.Attestation)
			return a.render(out, out.text)
		},
	}
	f := cmd.Flags()
	f.StringVar(&identity, "identity", "", "the run identity that produced ARTIFACT (required)")
	f.StringVar(&record, "record", "", "an output record of the identity, named in the attestation with its execution facts")
	f.StringVar(&key, "key", "", "cosign private key file (cosign.key); its password comes from COSIGN_PASSWORD or a prompt on a terminal")
	f.StringVar(&predicate, "predicate-type", attest.PredicateRun, "predicate: run (https://runid.dev/attestation/run/v1) or slsa (SLSA Provenance v1)")
	f.BoolVar(&bundle, "new-bundle-format", false, "store the attestation as a Sigstore bundle in an OCI 1.1 referrer (cosign's --new-bundle-format) instead of cosign's sha256-<hex>.att tag")
	f.StringVar(&identityRepo, "identity-repository", "", "repository to record for the identity, when readers fetch it elsewhere than IDENTITY (default: IDENTITY's repository)")
	kf.addTo(f)
	tf.addTo(f)
	return cmd
}
