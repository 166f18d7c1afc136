package sign_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/runid/runid-oci/pack/sign"
)

func TestWriteKeyPair(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "k")
	pw := func() ([]byte, error) { return []byte("pw"), nil }
	kp, err := sign.WriteKeyPair(prefix, pw, sign.KeyPairOptions{})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := os.ReadFile(kp.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.LoadPrivateKey(priv, []byte("pw")); err != nil {
		t.Fatalf("written key does not load: %v", err)
	}
	asked := false
	_, err = sign.WriteKeyPair(prefix, func() ([]byte, error) { asked = true; return []byte("pw"), nil }, sign.KeyPairOptions{})
	if !errors.Is(err, fs.ErrExist) || asked {
		t.Fatalf("existing pair: err %v, password asked %v; want fs.ErrExist before asking", err, asked)
	}
	kp2, err := sign.WriteKeyPair(prefix, pw, sign.KeyPairOptions{Overwrite: true})
	if err != nil || kp2.KeyID == kp.KeyID {
		t.Fatalf("overwrite: %v, key IDs %s %s", err, kp.KeyID, kp2.KeyID)
	}
}
