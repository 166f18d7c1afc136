package main

import (
	"github.com/spf13/pflag"

	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull/sigverify"
)

// keylessSignFlags are the keyless signing flags of sign and attest, with
// cosign's names.
type keylessSignFlags struct {
	fulcioURL, rekorURL, tokenFile string
}

func (k *keylessSignFlags) addTo(fs *pflag.FlagSet) {
	fs.StringVar(&k.fulcioURL, "fulcio-url", "", "sign keylessly: the Fulcio that certifies a fresh key for the identity token")
	fs.StringVar(&k.rekorURL, "rekor-url", "", "sign keylessly: the Rekor that logs the signature")
	fs.StringVar(&k.tokenFile, "identity-token", "", "file holding the OIDC identity token for keyless signing (default: $"+sign.IdentityTokenEnv+")")
}

// set reports whether a keyless flag is given.
func (k *keylessSignFlags) set() bool {
	return k.fulcioURL != "" || k.rekorURL != "" || k.tokenFile != ""
}

// check validates the keyless flags against --key: one or the other, and
// both URLs when keyless.
func (k *keylessSignFlags) check(key string) error {
	switch {
	case key != "" && k.set():
		return usageErrorf("--key signs with a key; --fulcio-url, --rekor-url and --identity-token sign keylessly: give one or the other")
	case k.set() && (k.fulcioURL == "" || k.rekorURL == ""):
		return usageErrorf("keyless signing needs both --fulcio-url and --rekor-url")
	case key == "" && !k.set():
		return usageErrorf("--key is required: a cosign private key file (cosign.key), or --fulcio-url and --rekor-url to sign keylessly")
	}
	return nil
}

// options reads the identity token (from --identity-token or the
// environment, as cosign does) and returns the keyless options.
func (k *keylessSignFlags) options(so sign.SignOptions) (sign.KeylessOptions, error) {
	token, err := sign.ReadIdentityToken(k.tokenFile)
	if err != nil {
		return sign.KeylessOptions{}, err
	}
	return sign.KeylessOptions{FulcioURL: k.fulcioURL, RekorURL: k.rekorURL, IdentityToken: token, Sign: so}, nil
}

// keylessOptions checks the keyless verification flags (with the key
// flags not given) and loads the trusted root: the options of keyless
// verification.
func (k *verifyKeyFlags) keylessOptions(logger sigverify.Options) (sigverify.KeylessOptions, error) {
	id := k.identity
	switch {
	case k.key != "" || k.identityKey != "":
		return sigverify.KeylessOptions{}, usageErrorf("--key and --identity-key verify key signatures; --trusted-root and the --certificate-* flags verify keyless signatures: give one or the other")
	case k.trustedRoot == "":
		return sigverify.KeylessOptions{}, usageErrorf("keyless verification needs --trusted-root FILE (no trusted root is fetched)")
	case id.Subject == "" && id.SubjectRegexp == "":
		return sigverify.KeylessOptions{}, usageErrorf("keyless verification needs --certificate-identity or --certificate-identity-regexp")
	case id.Issuer == "" && id.IssuerRegexp == "":
		return sigverify.KeylessOptions{}, usageErrorf("keyless verification needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
	case id.Subject != "" && id.SubjectRegexp != "":
		return sigverify.KeylessOptions{}, usageErrorf("give --certificate-identity or --certificate-identity-regexp, not both")
	case id.Issuer != "" && id.IssuerRegexp != "":
		return sigverify.KeylessOptions{}, usageErrorf("give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both")
	}
	tr, err := sigverify.LoadTrustedRoot(k.trustedRoot)
	if err != nil {
		return sigverify.KeylessOptions{}, err
	}
	return sigverify.KeylessOptions{TrustedRoot: tr, Identity: id, IgnoreSCT: k.ignoreSCT, Options: logger}, nil
}
