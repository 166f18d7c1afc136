package sign

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"golang.org/x/term"
)

// PasswordEnv is the environment variable holding a key password, as cosign
// reads it. Set but empty means an empty password.
const PasswordEnv = "COSIGN_PASSWORD"

// MaxKeyFileSize caps a key file: cosign keys are well under 1 KiB.
const MaxKeyFileSize = 64 << 10

// GenerateKeyPair makes a cosign key pair exactly as "cosign
// generate-key-pair" does: an ECDSA P-256 private key, encrypted with
// password (scrypt + secretbox) in an "ENCRYPTED SIGSTORE PRIVATE KEY" PEM
// block, and the PEM public key.
func GenerateKeyPair(password []byte) (privatePEM, publicPEM []byte, err error) {
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return nil, nil, fmt.Errorf("generate key pair: %w", err)
	}
	return kb.PrivateBytes, kb.PublicBytes, nil
}

// LoadPrivateKey decrypts a cosign private key (made by GenerateKeyPair or
// by "cosign generate-key-pair"; both "ENCRYPTED SIGSTORE PRIVATE KEY" and
// "ENCRYPTED COSIGN PRIVATE KEY" blocks) with password. A wrong password
// gives ErrKeyPassword; anything else unusable gives ErrKey.
func LoadPrivateKey(privatePEM, password []byte) (signature.SignerVerifier, error) {
	p, _ := pem.Decode(privatePEM)
	if p == nil {
		return nil, fmt.Errorf("%w: no PEM block (want a cosign private key)", ErrKey)
	}
	if p.Type != cosign.CosignPrivateKeyPemType && p.Type != cosign.SigstorePrivateKeyPemType {
		return nil, fmt.Errorf("%w: PEM block %q (want %q, as cosign generate-key-pair writes)", ErrKey, p.Type, cosign.SigstorePrivateKeyPemType)
	}
	sv, err := cosign.LoadPrivateKey(privatePEM, password, nil)
	if err != nil {
		if strings.HasPrefix(err.Error(), "decrypt") {
			return nil, fmt.Errorf("%w: %v", ErrKeyPassword, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return sv, nil
}

// LoadPublicKey parses a PEM public key (cosign.pub) into a verifier that
// checks signatures as cosign does: SHA-256 for ECDSA and RSA (PKCS #1
// v1.5), Ed25519ph for Ed25519.
func LoadPublicKey(publicPEM []byte) (signature.Verifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(publicPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (want a PEM public key such as cosign.pub)", ErrKey, err)
	}
	v, err := signature.LoadVerifierWithOpts(pub, options.WithHash(crypto.SHA256), options.WithED25519ph())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return v, nil
}

// ReadKeyFile reads a key file, capped at MaxKeyFileSize.
func ReadKeyFile(path string) ([]byte, error) {
	// Opened non-blocking and checked before any read: a named pipe or a
	// device in place of a key file would block or never end.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrKey, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrKey, path, err)
	}
	if len(b) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrKey, path, MaxKeyFileSize)
	}
	return b, nil
}

// LoadPublicKeyFile reads and parses a PEM public key file.
func LoadPublicKeyFile(path string) (signature.Verifier, error) {
	b, err := ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	v, err := LoadPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// KeyID names a public key: "sha256:" and the hex SHA-256 of its DER
// (PKIX) encoding. It is stable across PEM formatting.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKey, err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// VerifierKeyID is KeyID of a verifier's public key.
func VerifierKeyID(v signature.Verifier) (string, error) {
	pub, err := v.PublicKey()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKey, err)
	}
	return KeyID(pub)
}

// Terminal is where a password can be prompted for.
type Terminal interface {
	// IsTerminal reports whether a user can be prompted.
	IsTerminal() bool
	// ReadPassword prints prompt and reads a line without echo.
	ReadPassword(prompt string) ([]byte, error)
}

// PasswordReader returns a cosign-style password function: the
// COSIGN_PASSWORD variable when lookupEnv finds it (even empty), otherwise
// a prompt on tty (twice when confirm, as for a new key), otherwise
// ErrNoPassword. A nil lookupEnv is os.LookupEnv; a nil tty never prompts.
func PasswordReader(lookupEnv func(string) (string, bool), tty Terminal) func(confirm bool) ([]byte, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	return func(confirm bool) ([]byte, error) {
		if pw, ok := lookupEnv(PasswordEnv); ok {
			return []byte(pw), nil
		}
		if tty == nil || !tty.IsTerminal() {
			return nil, ErrNoPassword
		}
		pw, err := tty.ReadPassword("Enter password for private key: ")
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		if !confirm {
			return pw, nil
		}
		again, err := tty.ReadPassword("Enter password for private key again: ")
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		if string(pw) != string(again) {
			return nil, errors.New("passwords do not match")
		}
		return pw, nil
	}
}

// FileTerminal prompts on Prompt (stderr, usually) and reads from In when
// In is a terminal.
type FileTerminal struct {
	In     *os.File
	Prompt io.Writer
}

// IsTerminal reports whether In is a terminal.
func (t FileTerminal) IsTerminal() bool {
	return t.In != nil && term.IsTerminal(int(t.In.Fd()))
}

// ReadPassword prints prompt and reads a line from In without echo.
func (t FileTerminal) ReadPassword(prompt string) ([]byte, error) {
	if t.Prompt != nil {
		fmt.Fprint(t.Prompt, prompt)
	}
	pw, err := term.ReadPassword(int(t.In.Fd()))
	if t.Prompt != nil {
		fmt.Fprintln(t.Prompt)
	}
	return pw, err
}
