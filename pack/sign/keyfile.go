package sign

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// KeyPairOptions configure WriteKeyPair. The zero value is valid.
type KeyPairOptions struct {
	// Overwrite replaces existing key files. Default: an existing file is
	// an error wrapping fs.ErrExist and nothing is written.
	Overwrite bool
}

// KeyPair reports the files WriteKeyPair wrote.
type KeyPair struct {
	// PrivateKey is PREFIX.key (mode 0600), PublicKey is PREFIX.pub.
	PrivateKey string `json:"privateKey"`
	PublicKey  string `json:"publicKey"`
	// KeyID is the digest of the public key, as signature reports name it.
	KeyID string `json:"keyID"`
}

// WriteKeyPair makes a cosign key pair with GenerateKeyPair and writes it
// to prefix+".key" (encrypted with the password, mode 0600) and
// prefix+".pub", the files "cosign generate-key-pair" writes. Both paths
// are checked before password is called (it may prompt) and before
// anything is written.
func WriteKeyPair(prefix string, password func() ([]byte, error), opts KeyPairOptions) (KeyPair, error) {
	kp := KeyPair{PrivateKey: prefix + ".key", PublicKey: prefix + ".pub"}
	if !opts.Overwrite {
		for _, p := range []string{kp.PrivateKey, kp.PublicKey} {
			if _, err := os.Lstat(p); err == nil {
				return KeyPair{}, fmt.Errorf("%s exists: %w", p, fs.ErrExist)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return KeyPair{}, err
			}
		}
	}
	pw, err := password()
	if err != nil {
		return KeyPair{}, err
	}
	privPEM, pubPEM, err := GenerateKeyPair(pw)
	if err != nil {
		return KeyPair{}, err
	}
	v, err := LoadPublicKey(pubPEM)
	if err != nil {
		return KeyPair{}, err
	}
	if kp.KeyID, err = VerifierKeyID(v); err != nil {
		return KeyPair{}, err
	}
	if err := writeKeyFile(kp.PrivateKey, privPEM, 0o600, opts.Overwrite); err != nil {
		return KeyPair{}, err
	}
	if err := writeKeyFile(kp.PublicKey, pubPEM, 0o644, opts.Overwrite); err != nil {
		return KeyPair{}, err
	}
	return kp, nil
}

func writeKeyFile(path string, data []byte, perm os.FileMode, overwrite bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
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
