package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/internal/cosignsig"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pull"
)

// keyOutput is the output of key generate.
type keyOutput struct {
	PrivateKey string `json:"privateKey"`
	PublicKey  string `json:"publicKey"`
	KeyID      string `json:"keyID"`
}

func newKeyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage cosign signing keys",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return usageErrorf("%s needs a subcommand: generate", cmd.CommandPath())
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	cmd.AddCommand(newKeyGenerateCmd(a))
	return cmd
}

func newKeyGenerateCmd(a *app) *cobra.Command {
	var prefix string
	var force bool
	cmd := &cobra.Command{
		Use:   "generate [--output-key-prefix cosign]",
		Short: "Make a cosign key pair: PREFIX.key (encrypted) and PREFIX.pub",
		Long: `Make a signing key pair exactly as "cosign generate-key-pair" does: an ECDSA
P-256 private key encrypted with a password (PREFIX.key, mode 0600) and its
public key (PREFIX.pub). cosign uses these files too, and runid-oci uses key
pairs made by cosign.

The password comes from COSIGN_PASSWORD (set, even empty), or is asked twice
when stdin is a terminal. Existing files are not overwritten without --force.`,
		Example: `  COSIGN_PASSWORD=... runid-oci key generate
  runid-oci key generate --output-key-prefix release`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			priv, pub := prefix+".key", prefix+".pub"
			if !force {
				for _, p := range []string{priv, pub} {
					if _, err := os.Lstat(p); err == nil {
						return fmt.Errorf("%s exists: %w (use --force to overwrite)", p, fs.ErrExist)
					} else if !errors.Is(err, fs.ErrNotExist) {
						return err
					}
				}
			}
			pw, err := a.password(true)
			if err != nil {
				return err
			}
			privPEM, pubPEM, err := pack.GenerateKeyPair(pw)
			if err != nil {
				return err
			}
			v, err := pull.LoadPublicKey(pubPEM)
			if err != nil {
				return err
			}
			id, err := cosignsig.VerifierKeyID(v)
			if err != nil {
				return err
			}
			if err := writeKeyFile(priv, privPEM, 0o600, force); err != nil {
				return err
			}
			if err := writeKeyFile(pub, pubPEM, 0o644, force); err != nil {
				return err
			}
			out := keyOutput{PrivateKey: priv, PublicKey: pub, KeyID: id}
			return a.render(out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Private key written to %s\nPublic key written to %s\nKey ID %s\n", priv, pub, id)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&prefix, "output-key-prefix", "cosign", "write the keys to PREFIX.key and PREFIX.pub")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing key files")
	return cmd
}

// writeKeyFile writes data to path with mode perm; without force it fails
// if path exists.
func writeKeyFile(path string, data []byte, perm os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, perm)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write key %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return f.Close()
}
