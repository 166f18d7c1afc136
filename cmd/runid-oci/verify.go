package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

func newVerifyCmd(a *app) *cobra.Command {
	var tf targetFlags
	var decl string
	var wf withholdFlags
	var rf revealFlags
	var kf verifyKeyFlags
	var pf policyFlags
	var af attestationFlags
	cmd := &cobra.Command{
		Use:   "verify TARGET [--declaration runid.yaml | --reveal FILE --component FILE]",
		Short: "Check every rule of an identity, and optionally its declaration",
		Long: `Verify the identity at TARGET: hash the manifest, check it against every rule
of the Run Identity spec and hash every blob. With --declaration, also check
that packing the declaration (with its local files) gives the same identity,
and list the components that differ (a declaration with withheld components
needs --withhold-secret-file). With --reveal and --component, also prove that
the file given is exactly the withheld component that the reveal opens.

With --key cosign.pub, also check the cosign signatures (cosign's tag format
and Sigstore bundles, offline): at least one must verify with the key and name
this manifest; none, another's key, an altered payload, a malformed signature
or a signature copied from another manifest does not verify. On an output
record, verify the chain: the record and its signature, then its identity in
full and the identity's signature (with --identity-key when the declarer of
the run used another key than the producer of the outputs).

With --trusted-root and --certificate-identity (or -regexp) and
--certificate-oidc-issuer (or -regexp), also check keyless signatures (a
Sigstore certificate, as CI pipelines sign), offline against the trusted
root: the certificate chains to a Fulcio CA of the root, valid at a signing
time proven by a Rekor entry or an RFC 3161 timestamp; it carries an SCT
(unless --insecure-ignore-sct); its identity and issuer match; and the
signature names this manifest. The flags have cosign's names and meanings.

With --policy FILE.rego (repeatable; a directory of .rego files too), after
every other check passed, evaluate the policies (OPA, Rego v1) on the policy
input of the identity (for an output record, of the record and its identity),
with the signatures that verified: each message of data.runid.deny fails the
check "policy". See docs/policy.md.

With --attestation and --key, TARGET is an artifact a run produced: check its
run attestations (in-toto statements, cosign's sha256-<hex>.att tag and
Sigstore bundle referrers): the DSSE signatures with the key, that the
statement names TARGET's digest, then the identity (and output record) the
predicate names, verified in full from TARGET's repository (with its
signature when --identity-key is given, and --policy applied to it). With
--attestation, --trusted-root and the --certificate-* flags instead of --key,
the attestations are checked keylessly, as signatures are.

Exit code 0: verified. 3: does not verify (each failed check is named).
1: could not check (network, authentication, missing reference...).`,
		Example: `  runid-oci verify localhost:5000/runs:v1 --plain-http
  runid-oci verify localhost:5000/runs:v1 --plain-http --key cosign.pub
  runid-oci verify localhost:5000/runs@sha256:... --key producer.pub --identity-key declarer.pub
  runid-oci verify localhost:5000/images/agent:1.0 --plain-http --attestation --key cosign.pub
  runid-oci verify reg.example/runs:v1 --trusted-root trusted_root.json \
    --certificate-identity-regexp '^https://github.com/org/repo/' --certificate-oidc-issuer https://token.actions.githubusercontent.com
  runid-oci verify --oci-layout ./runs:v1 --declaration runid.yaml -o json
  runid-oci verify --oci-layout ./runs:v1 --key release.pub --policy policies/
  runid-oci verify --oci-layout ./runs:v1 --reveal system-prompt/agent.md.reveal.json --component agent.md`,
		Args: exactArgs("TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), a.logger()
			if err := rf.check(decl); err != nil {
				return err
			}
			if err := af.check(decl, rf, kf); err != nil {
				return err
			}
			var secret []byte
			if decl != "" {
				s, err := wf.secret()
				if err != nil {
					return err
				}
				secret = s
			}
			t, err := tf.open(ctx, args[0], true)
			if err != nil {
				return err
			}
			if af.attestation {
				pol, err := pf.load(ctx)
				if err != nil {
					return err
				}
				return a.verifyAttestations(ctx, t, kf, af, pol)
			}
			opts := pull.VerifyOptions{Options: pull.Options{Logger: log}, Declaration: decl, Build: pack.BuildOptions{Logger: log, WithholdSecret: secret}}
			if err := kf.apply(&opts); err != nil {
				return err
			}
			if opts.Policy, err = pf.load(ctx); err != nil {
				return err
			}
			tr := a.transfers()
			defer tr.done()
			opts.Progress = tr.pull()
			if rf.reveal != "" {
				return a.verifyReveal(ctx, t.Store, t.Reference, t.String(), rf, opts.Options)
			}
			rep, err := pull.Verify(ctx, t.Store, t.Reference, opts)
			tr.done()
			return a.report(rep, rep, err, t.String(), func(w io.Writer) error {
				if err := writeReport(w, rep, decl); err != nil {
					return err
				}
				return writeSignatureSummary(w, rep)
			})
		},
	}
	cmd.Flags().StringVar(&decl, "declaration", "", "also check the identity against this declaration (runid.yaml)")
	kf.addTo(cmd.Flags())
	pf.addTo(cmd.Flags(), "after every check, evaluate data.runid.deny of these policies")
	af.addTo(cmd.Flags())
	wf.addTo(cmd.Flags())
	rf.addTo(cmd.Flags())
	tf.addTo(cmd.Flags())
	return cmd
}

// report renders the result v of a verification (with text for --output
// text) when the identity verified or does not verify, and returns the error
// that sets the exit code. Nothing is rendered when it could not be checked.
// The report's reference becomes the full TARGET, ref.
func (a *app) report(v any, rep *pull.Report, err error, ref string, text func(io.Writer) error) error {
	if rep == nil {
		if err == nil {
			err = fmt.Errorf("%s: no verification report", ref)
		}
		return err
	}
	if err != nil && !errors.Is(err, pull.ErrVerification) {
		return err
	}
	rep.Reference = ref
	if rerr := a.render(v, text); rerr != nil {
		return rerr
	}
	if err != nil || !rep.Verified {
		return notVerifiedError{ref: ref, report: rep, err: err}
	}
	return nil
}

// notVerifiedError is a short stderr message for an identity that does not
// verify (the report on stdout has the details). It wraps the error from
// pull, if any, and pull.ErrVerification.
type notVerifiedError struct {
	ref    string
	report *pull.Report
	err    error
}

func (e notVerifiedError) Error() string {
	failed := 0
	for _, c := range e.report.Checks {
		if !c.OK {
			failed++
		}
	}
	return fmt.Sprintf("%s does not verify: %d check(s) failed", e.ref, failed)
}

func (e notVerifiedError) Unwrap() []error {
	if e.err == nil {
		return []error{pull.ErrVerification}
	}
	return []error{e.err, pull.ErrVerification}
}

func writeReport(w io.Writer, r *pull.Report, decl string) error {
	if r.Verified {
		_, err := fmt.Fprintf(w, "Verified %s (%s): %d checks passed\n", r.Digest, r.Reference, len(r.Checks))
		return err
	}
	fmt.Fprintf(w, "%s does not verify: %s\n", r.Reference, r.Digest)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Checks {
		if !c.OK {
			fmt.Fprintf(tw, "  FAIL\t%s\t%s\t%s\n", c.Check, c.Subject, c.Message)
		}
	}
	if len(r.Differences) > 0 {
		fmt.Fprintf(tw, "Components that differ from %s:\n", decl)
		for _, d := range r.Differences {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.Change, d.Role, d.Name, entryChange(d.Want, d.Got))
		}
	}
	return tw.Flush()
}

// entryChange says what differs between the declared (want) and the found
// (got) entry of a component.
func entryChange(want, got *spec.ComponentEntry) string {
	switch {
	case want == nil && got != nil:
		return "only in the identity"
	case got == nil && want != nil:
		return "only in the declaration"
	case want == nil:
		return ""
	case want.MediaType != got.MediaType:
		return fmt.Sprintf("media type %s, declared %s", got.MediaType, want.MediaType)
	case want.Role != got.Role:
		return fmt.Sprintf("role %s, declared %s", got.Role, want.Role)
	case want.Digest != got.Digest:
		return fmt.Sprintf("digest %s (%d bytes), declared %s (%d bytes)", got.Digest, got.Size, want.Digest, want.Size)
	}
	return "same bytes at another position"
}
