package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/runid/runid-oci/pack/attest"
	"github.com/runid/runid-oci/pack/target"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/policy"
	"github.com/runid/runid-oci/pull/sigverify"
)

// attestationFlags are verify's flags for run attestations.
type attestationFlags struct {
	attestation bool
	predicate   string
}

func (f *attestationFlags) addTo(fs *pflag.FlagSet) {
	fs.BoolVar(&f.attestation, "attestation", false, "TARGET is an artifact: verify its run attestations (with --key, or keylessly with --trusted-root and the --certificate-* flags), and the identity they name")
	fs.StringVar(&f.predicate, "predicate-type", "", "with --attestation: only attestations of this predicate, run or slsa (default: both)")
}

// check validates the combination with verify's other flags.
func (f *attestationFlags) check(decl string, rf revealFlags, kf verifyKeyFlags) error {
	switch {
	case !f.attestation && f.predicate != "":
		return usageErrorf("--predicate-type needs --attestation")
	case !f.attestation:
		return nil
	case kf.key == "" && !kf.keyless():
		return usageErrorf("--attestation needs --key cosign.pub (the key the attestations are signed with), or --trusted-root and the --certificate-* flags for keyless attestations")
	case decl != "" || rf.reveal != "":
		return usageErrorf("--attestation cannot be combined with --declaration or --reveal")
	}
	if f.predicate != "" {
		if _, err := attest.PredicateType(f.predicate); err != nil {
			return usageErrorf("--predicate-type %q: want run or slsa", f.predicate)
		}
	}
	return nil
}

// verifyAttestations verifies the run attestations of the artifact t (and,
// with pol, the policy on each run they name) and renders the report. It returns a *pull.VerificationError (exit 3) when
// none verifies.
func (a *app) verifyAttestations(ctx context.Context, t *target.Target, kf verifyKeyFlags, af attestationFlags, pol *policy.Policy) error {
	opts := sigverify.AttestationOptions{Logger: a.logger(), Verify: pull.VerifyOptions{Options: pull.Options{Logger: a.logger()}, Policy: pol}}
	if af.predicate != "" {
		opts.PredicateType, _ = attest.PredicateType(af.predicate)
	}
	var rep *sigverify.AttestationReport
	var err error
	if kf.keyless() {
		// The run's own signatures are not required: the attestation
		// is checked keylessly, the identity it names in full.
		ik := kf.identityKey
		kf.identityKey = ""
		ko, kerr := kf.keylessOptions(sigverify.Options{Logger: a.logger()})
		if kerr != nil {
			return kerr
		}
		if err := identityKey(&opts, ik, a); err != nil {
			return err
		}
		rep, err = sigverify.VerifyKeylessAttestations(ctx, t.Store, t.Reference, ko, opts)
	} else {
		key, kerr := sigverify.LoadPublicKeyFile(kf.key)
		if kerr != nil {
			return kerr
		}
		if err := identityKey(&opts, kf.identityKey, a); err != nil {
			return err
		}
		rep, err = sigverify.VerifyAttestations(ctx, t.Store, t.Reference, key, opts)
	}
	if rep == nil || (err != nil && !errors.Is(err, pull.ErrVerification)) {
		return err
	}
	rep.Reference = t.String()
	if rerr := a.render(rep, func(w io.Writer) error { return writeAttestationReport(w, rep) }); rerr != nil {
		return rerr
	}
	if err != nil {
		return fmt.Errorf("%s: no run attestation verifies %s: %w", t.String(), checkedBy(rep), err)
	}
	return nil
}

// identityKey requires, when path is set, the signature of the identity an
// attestation names with the public key at path (--identity-key).
func identityKey(opts *sigverify.AttestationOptions, path string, a *app) error {
	if path == "" {
		return nil
	}
	ik, err := sigverify.LoadPublicKeyFile(path)
	if err != nil {
		return err
	}
	opts.Verify.Signatures = sigverify.Verifier{Key: ik, Options: sigverify.Options{Logger: a.logger()}}
	return nil
}

// checkedBy says what the attestations were checked with.
func checkedBy(rep *sigverify.AttestationReport) string {
	if rep.Keyless != "" {
		return "keylessly for " + rep.Keyless
	}
	return "with key " + rep.KeyID
}

func writeAttestationReport(w io.Writer, rep *sigverify.AttestationReport) error {
	if rep.Verified > 0 {
		fmt.Fprintf(w, "Verified %s (%s): %d of %d run attestation(s) verify %s\n", rep.Subject, rep.Reference, rep.Verified, len(rep.Attestations), checkedBy(rep))
	} else {
		fmt.Fprintf(w, "%s does not verify: %s: no run attestation verifies %s\n", rep.Reference, rep.Subject, checkedBy(rep))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range rep.Attestations {
		state := "ok"
		if !c.Verified {
			state = "FAIL"
		}
		run := ""
		if c.Identity != nil {
			run = "identity " + c.Identity.String()
		}
		if c.OutputRecord != "" {
			run += ", record " + c.OutputRecord.String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", state, c.Format, c.PredicateType, run, c.Reason)
	}
	for _, r := range rep.Runs {
		state := "verified"
		if !r.Verified {
			state = "does not verify"
		}
		fmt.Fprintf(tw, "  run\t%s\t%s\t%d checks\t\n", r.Digest, state, len(r.Checks))
	}
	return tw.Flush()
}
