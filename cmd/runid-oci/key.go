package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack/sign"
)

// keyOutput is the output of key generate.
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
			password := func() ([]byte, error) { return a.password(true) }
			kp, err := sign.WriteKeyPair(prefix, password, sign.KeyPairOptions{Overwrite: force})
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%w; use --force", err)
			}
			if err != nil {
				return err
			}
			return a.render(kp, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Private key written to %s\nPublic key written to %s\nKey ID %s\n", kp.PrivateKey, kp.PublicKey, kp.KeyID)
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
