package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"oras.land/oras-go/v2"

	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
)

// signOutput is the output of sign (and the signature part of push --sign).
type signOutput struct {
	Subject       digest.Digest `json:"subject"`
	Reference     string        `json:"reference"`
	Format        string        `json:"format"`
	Signature     digest.Digest `json:"signature"`
	Tag           string        `json:"tag,omitempty"`
	Signatures    int           `json:"signatures"`
	KeyID         string        `json:"keyID,omitempty"`
	Signer        string        `json:"signer,omitempty"`
	AlreadySigned bool          `json:"alreadySigned,omitempty"`
}

func newSignOutput(ref string, r sign.SignResult) signOutput {
	return signOutput{Subject: r.Subject.Digest, Reference: ref, Format: string(r.Format), Signature: r.Signature.Digest,
		Tag: r.Tag, Signatures: r.Signatures, KeyID: r.KeyID, Signer: r.Signer, AlreadySigned: r.AlreadySigned}
}

func (s signOutput) text(w io.Writer) error {
	note := ""
	if s.AlreadySigned {
		note = " (already signed by this key)"
	}
	_, err := fmt.Fprintf(w, "Signed %s %s: %s-format signature in %s%s\n",
		s.Subject, signedBy(s.KeyID, s.Signer), s.Format, storedIn(s.Tag, s.Signature), note)
	return err
}

// signedBy says who signed, for the text output of sign and attest: a key
// by its ID, or a keyless signer by its certificate identity.
func signedBy(keyID, signer string) string {
	if signer != "" {
		return "keylessly as " + signer
	}
	return "with key " + keyID
}

// storedIn says where a signature or attestation was stored, for the text
// output of sign and attest: a cosign tag, or else a referrer by digest.
func storedIn(tag string, referrer digest.Digest) string {
	if tag != "" {
		return "tag " + tag
	}
	return "referrer " + referrer.String()
}

// signFlags are the key flags of sign, and of push and attach with --sign.
type signFlags struct {
	sign   bool // push/attach only
	key    string
	bundle bool
}

// addTo registers --key and --new-bundle-format, and --sign when withSign.
func (s *signFlags) addTo(fs *pflag.FlagSet, withSign bool) {
	if withSign {
		fs.BoolVar(&s.sign, "sign", false, "also sign the pushed manifest (needs --key)")
	}
	fs.StringVar(&s.key, "key", "", "cosign private key file (cosign.key); its password comes from COSIGN_PASSWORD or a prompt on a terminal")
	fs.BoolVar(&s.bundle, "new-bundle-format", false, "store the signature as a Sigstore bundle in an OCI 1.1 referrer (cosign's --new-bundle-format) instead of cosign's sha256-<hex>.sig tag")
}

// check validates the flags of push/attach: --key and --new-bundle-format
// only with --sign, and --sign only with --key.
func (s *signFlags) check() error {
	switch {
	case s.sign && s.key == "":
		return usageErrorf("--sign needs --key cosign.key")
	case !s.sign && (s.key != "" || s.bundle):
		return usageErrorf("--key and --new-bundle-format need --sign")
	}
	return nil
}

func (s *signFlags) options(a *app) sign.SignOptions {
	o := sign.SignOptions{Logger: a.logger()}
	if s.bundle {
		o.Format = sign.SignatureFormatBundle
	}
	return o
}

// signer opens the key of push/attach when --sign is given, and is nil
// otherwise. It is called before anything is written, so that a wrong
// password writes nothing.
func (s *signFlags) signer(a *app) (signature.SignerVerifier, error) {
	if !s.sign {
		return nil, nil
	}
	return a.loadSigner(s.key)
}

// signWritten signs the manifest d that push or attach just wrote (what:
// "pushed", "attached") at ref, when signer is not nil, and reports the
// signature on stderr unless the output is JSON. It returns nil when there
// is no signer.
func (a *app) signWritten(ctx context.Context, store oras.Target, what, ref string, d digest.Digest, signer signature.SignerVerifier, sf *signFlags) (*signOutput, error) {
	if signer == nil {
		return nil, nil
	}
	sr, err := sign.Sign(ctx, store, d.String(), signer, sf.options(a))
	if err != nil {
		return nil, fmt.Errorf("%s %s but could not sign it: %w", what, ref, err)
	}
	so := newSignOutput(ref, sr)
	if !a.json() {
		if err := so.text(a.stderr); err != nil {
			return nil, err
		}
	}
	return &so, nil
}

// loadSigner reads and decrypts the cosign private key at path. The
// password comes from COSIGN_PASSWORD, or a prompt when stdin is a
// terminal, as cosign does.
func (a *app) loadSigner(path string) (signature.SignerVerifier, error) {
	b, err := sign.ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	pw, err := a.password(false)
	if err != nil {
		return nil, err
	}
	sv, err := sign.LoadPrivateKey(b, pw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sv, nil
}

// password reads a key password as cosign does (COSIGN_PASSWORD, or a
// terminal prompt on stderr), twice when confirm.
func (a *app) password(confirm bool) ([]byte, error) {
	var tty sign.Terminal
	if f, ok := a.stdin.(*os.File); ok {
		tty = sign.FileTerminal{In: f, Prompt: a.stderr}
	}
	return sign.PasswordReader(nil, tty)(confirm)
}

func newSignCmd(a *app) *cobra.Command {
	var tf targetFlags
	var sf signFlags
	var kf keylessSignFlags
	cmd := &cobra.Command{
		Use:   "sign TARGET (--key cosign.key | --fulcio-url URL --rekor-url URL [--identity-token FILE])",
		Short: "Sign an identity or an output record with a cosign key or keylessly",
		Long: `Sign the manifest at TARGET (an identity, an output record, any manifest) by
its digest, computed here from the manifest bytes, with a cosign private key.

The signature is stored the way cosign stores it, so that "cosign verify
--key cosign.pub" accepts it: by default in cosign's tag format (a manifest
tagged sha256-<hex>.sig holding a simple-signing payload, appended to any
signatures already there), which runid-oci also gives the signed manifest as
subject so that referrer-aware copies ("oras cp -r", runid-oci copy) carry
it; with --new-bundle-format as a Sigstore bundle in an OCI 1.1 referrer.

Keys are cosign key files: made by "runid-oci key generate" or "cosign
generate-key-pair". The password comes from COSIGN_PASSWORD, or a prompt when
stdin is a terminal. Nothing is sent to a transparency log.

Keyless, against a Sigstore deployment you run (--fulcio-url and --rekor-url,
no --key): a fresh key is certified by that Fulcio for the identity of the
OIDC token (--identity-token FILE, or SIGSTORE_ID_TOKEN as cosign reads it),
the signature is logged in that Rekor, and the certificate and log entry are
stored with the signature so that "runid-oci verify --trusted-root" and
"cosign verify --trusted-root" check it offline.`,
		Example: `  runid-oci sign localhost:5000/runs:v1 --key cosign.key --plain-http
  COSIGN_PASSWORD=... runid-oci sign --oci-layout ./runs:v1 --key cosign.key --new-bundle-format
  runid-oci sign reg.example/runs:v1 --fulcio-url https://fulcio.example --rekor-url https://rekor.example --identity-token token.jwt`,
		Args: exactArgs("TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := kf.check(sf.key); err != nil {
				return err
			}
			t, err := tf.open(ctx, args[0], false)
			if err != nil {
				return err
			}
			if t.Reference == "" {
				return usageErrorf("TARGET %s names no tag or digest to sign", args[0])
			}
			store, err := t.Writable()
			if err != nil {
				return err
			}
			var res sign.SignResult
			if kf.set() {
				ko, err := kf.options(sf.options(a))
				if err != nil {
					return err
				}
				if res, err = sign.SignKeyless(ctx, store, t.Reference, ko); err != nil {
					return err
				}
			} else {
				signer, err := a.loadSigner(sf.key)
				if err != nil {
					return err
				}
				if res, err = sign.Sign(ctx, store, t.Reference, signer, sf.options(a)); err != nil {
					return err
				}
			}
			out := newSignOutput(t.String(), res)
			a.logger().Info("signed", "subject", out.Subject, "format", out.Format, "signature", out.Signature)
			return a.render(out, out.text)
		},
	}
	sf.addTo(cmd.Flags(), false)
	kf.addTo(cmd.Flags())
	tf.addTo(cmd.Flags())
	return cmd
}

// verifyKeyFlags are the signature flags of verify: a public key, or the
// keyless identity policy and trusted root, with cosign's names.
type verifyKeyFlags struct {
	key         string
	identityKey string
	trustedRoot string
	identity    sigverify.Identity
	ignoreSCT   bool
}

func (k *verifyKeyFlags) addTo(fs *pflag.FlagSet) {
	fs.StringVar(&k.key, "key", "", "also verify the cosign signatures with this public key (cosign.pub); on an output record, the record's key")
	fs.StringVar(&k.identityKey, "identity-key", "", "public key of the identity's signature when it differs from --key (default: --key)")
	fs.StringVar(&k.trustedRoot, "trusted-root", "", "Sigstore trusted root JSON (cosign trusted-root create, or trusted_root.json from Sigstore's TUF repository) to verify keyless signatures with; none is fetched")
	fs.StringVar(&k.identity.Subject, "certificate-identity", "", "keyless: the identity (email, URI) the signing certificate must name")
	fs.StringVar(&k.identity.SubjectRegexp, "certificate-identity-regexp", "", "keyless: a regular expression the certificate's identity must match")
	fs.StringVar(&k.identity.Issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer the signing certificate must name")
	fs.StringVar(&k.identity.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a regular expression the certificate's OIDC issuer must match")
	fs.StringVar(&k.identity.GitHubWorkflowTrigger, "certificate-github-workflow-trigger", "", "keyless: the GitHub workflow trigger (event) the certificate must name")
	fs.StringVar(&k.identity.GitHubWorkflowSHA, "certificate-github-workflow-sha", "", "keyless: the GitHub workflow commit SHA the certificate must name")
	fs.StringVar(&k.identity.GitHubWorkflowName, "certificate-github-workflow-name", "", "keyless: the GitHub workflow name the certificate must name")
	fs.StringVar(&k.identity.GitHubWorkflowRepository, "certificate-github-workflow-repository", "", "keyless: the GitHub repository (owner/name) the certificate must name")
	fs.StringVar(&k.identity.GitHubWorkflowRef, "certificate-github-workflow-ref", "", "keyless: the git ref (refs/heads/main) the certificate must name")
	fs.BoolVar(&k.ignoreSCT, "insecure-ignore-sct", false, "keyless: do not require a certificate transparency SCT in the certificate (a private Fulcio without a CT log)")
}

// keyless reports whether a keyless flag is set.
func (k *verifyKeyFlags) keyless() bool {
	return k.trustedRoot != "" || k.identity != (sigverify.Identity{}) || k.ignoreSCT
}

// apply loads the keys, or the trusted root and identity policy, into opts.
func (k *verifyKeyFlags) apply(opts *pull.VerifyOptions) error {
	if k.keyless() {
		ko, err := k.keylessOptions(sigverify.Options{Logger: opts.Logger})
		if err != nil {
			return err
		}
		opts.Signatures = sigverify.KeylessVerifier{KeylessOptions: ko}
		return nil
	}
	for _, f := range []struct {
		path string
		dst  *pull.SignatureVerifier
	}{{k.key, &opts.Signatures}, {k.identityKey, &opts.IdentitySignatures}} {
		if f.path == "" {
			continue
		}
		v, err := sigverify.LoadPublicKeyFile(f.path)
		if err != nil {
			return err
		}
		*f.dst = sigverify.Verifier{Key: v, Options: sigverify.Options{Logger: opts.Logger}}
	}
	return nil
}

// writeSignatureSummary writes the signature and chain lines of a
// verification report, if any.
func writeSignatureSummary(w io.Writer, rep *pull.Report) error {
	sigLine := func(sr *pull.SignatureReport) string {
		if sr == nil {
			return "signatures not checked"
		}
		if sr.Keyless != "" {
			return fmt.Sprintf("%d of %d signature(s) verify keylessly for %s", sr.Verified, len(sr.Signatures), sr.Keyless)
		}
		return fmt.Sprintf("%d of %d signature(s) verify with key %s", sr.Verified, len(sr.Signatures), sr.KeyID)
	}
	if len(rep.Chain) > 0 {
		fmt.Fprintln(w, "Chain:")
		for _, l := range rep.Chain {
			state := "verified"
			if !l.Verified {
				state = "DOES NOT VERIFY"
			}
			fmt.Fprintf(w, "  %-13s %s  %s; %s\n", l.Kind, l.Digest, state, sigLine(l.Signatures))
		}
		return nil
	}
	if rep.Signatures != nil {
		_, err := fmt.Fprintf(w, "Signatures: %s\n", sigLine(rep.Signatures))
		return err
	}
	return nil
}
