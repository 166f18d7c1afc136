package target_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/runid/runid-oci/internal/testregistry"
	"github.com/runid/runid-oci/pack/target"
)

// users of the registries with htpasswd authentication.
var users = map[string]string{"alice": "s3cret-pass"}

// pushAndResolve pushes a small manifest to the target's repository under
// the tag "v1" and resolves it back.
func pushAndResolve(t *testing.T, ref string, opts target.Options) error {
	t.Helper()
	ctx := t.Context()
	tgt, err := target.Open(ctx, ref, false, opts)
	if err != nil {
		return err
	}
	store, err := tgt.Writable()
	if err != nil {
		return err
	}
	desc, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "application/vnd.runid.test", oras.PackManifestOptions{
		ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2000-01-01T00:00:00Z"},
	})
	if err != nil {
		return err
	}
	if err := store.Tag(ctx, desc, tgt.Reference); err != nil {
		return err
	}
	got, err := store.Resolve(ctx, tgt.Reference)
	if err != nil {
		return err
	}
	if got.Digest != desc.Digest {
		t.Fatalf("resolved %s, pushed %s", got.Digest, desc.Digest)
	}
	return nil
}

// TestOpenTLSAndAuth opens a Distribution registry served over HTTPS by
// a test CA, with htpasswd authentication, with each way of trusting it
// and of giving credentials.
func TestOpenTLSAndAuth(t *testing.T) {
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{Users: users})
	ref := reg.Ref("runs", "v1")
	good := target.Options{CAFile: reg.CA.File, Username: "alice", Password: "s3cret-pass"}

	t.Run("ca-file", func(t *testing.T) {
		if err := pushAndResolve(t, ref, good); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		if err := pushAndResolve(t, ref, target.Options{Insecure: true, Username: "alice", Password: "s3cret-pass"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown authority", func(t *testing.T) {
		err := pushAndResolve(t, ref, target.Options{Username: "alice", Password: "s3cret-pass"})
		if !errors.As(err, new(x509.UnknownAuthorityError)) {
			t.Fatalf("err = %v, want an x509.UnknownAuthorityError", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		o := good
		o.Password = "wrong"
		err := pushAndResolve(t, ref, o)
		var er *errcode.ErrorResponse
		if !errors.As(err, &er) || er.StatusCode != http.StatusUnauthorized {
			t.Fatalf("err = %v, want a 401 error response", err)
		}
	})
	t.Run("no credential", func(t *testing.T) {
		o := good
		o.Username, o.Password = "", ""
		o.RegistryConfig = filepath.Join(t.TempDir(), "config.json")
		err := pushAndResolve(t, ref, o)
		if !errors.Is(err, auth.ErrBasicCredentialNotFound) {
			t.Fatalf("err = %v, want auth.ErrBasicCredentialNotFound", err)
		}
	})
	t.Run("credential func", func(t *testing.T) {
		o := good
		o.Username, o.Password = "", ""
		var asked []string
		o.Credential = func(_ context.Context, host string) (auth.Credential, error) {
			asked = append(asked, host)
			return auth.Credential{Username: "alice", Password: "s3cret-pass"}, nil
		}
		if err := pushAndResolve(t, ref, o); err != nil {
			t.Fatal(err)
		}
		if len(asked) == 0 || asked[0] != reg.Host {
			t.Fatalf("credential asked for %q, want %q", asked, reg.Host)
		}
	})
	t.Run("plain http to https", func(t *testing.T) {
		o := good
		o.PlainHTTP = true
		if err := pushAndResolve(t, ref, o); err == nil {
			t.Fatal("plain HTTP to an HTTPS registry succeeded")
		}
	})
}

// TestOpenClientCertificate: a registry that requires client certificates
// signed by its CA (Distribution's http.tls.clientcas) accepts the one
// given with CertFile and KeyFile, and refuses a client without one.
func TestOpenClientCertificate(t *testing.T) {
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{RequireClientCert: true})
	ref := reg.Ref("runs", "v1")
	if err := pushAndResolve(t, ref, target.Options{CAFile: reg.CA.File, CertFile: reg.ClientCertFile, KeyFile: reg.ClientKeyFile}); err != nil {
		t.Fatal(err)
	}
	err := pushAndResolve(t, ref, target.Options{CAFile: reg.CA.File})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a refused handshake", err)
	}
	// A certificate from another authority is refused too.
	other := testregistry.NewCA(t)
	_, cert, key := other.Issue(t, "stranger")
	if err := pushAndResolve(t, ref, target.Options{CAFile: reg.CA.File, CertFile: cert, KeyFile: key}); err == nil {
		t.Fatal("a client certificate of another authority was accepted")
	}
}

// TestLoginLogout stores a credential through oras-go's credentials
// package in a Docker config file, uses it, and removes it.
func TestLoginLogout(t *testing.T) {
	ctx := t.Context()
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{Users: users})
	config := filepath.Join(t.TempDir(), "config.json")
	opts := target.Options{CAFile: reg.CA.File, RegistryConfig: config}
	ref := reg.Ref("runs", "v1")

	if err := target.Login(ctx, reg.Host, target.LoginCredential("alice", "wrong"), opts); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if _, err := os.Stat(config); err == nil {
		if auths := configAuths(t, config); len(auths) != 0 {
			t.Fatalf("a refused login stored %v", auths)
		}
	}
	if err := target.Login(ctx, reg.Host, target.LoginCredential("alice", "s3cret-pass"), opts); err != nil {
		t.Fatal(err)
	}
	if auths := configAuths(t, config); len(auths) != 1 || auths[reg.Host] == nil {
		t.Fatalf("config auths = %v, want one for %s", auths, reg.Host)
	}
	if err := pushAndResolve(t, ref, opts); err != nil {
		t.Fatalf("push after login: %v", err)
	}
	if err := target.Logout(ctx, reg.Host, opts); err != nil {
		t.Fatal(err)
	}
	if auths := configAuths(t, config); len(auths) != 0 {
		t.Fatalf("config auths after logout = %v", auths)
	}
	if err := pushAndResolve(t, ref, opts); !errors.Is(err, auth.ErrBasicCredentialNotFound) {
		t.Fatalf("push after logout: err = %v, want auth.ErrBasicCredentialNotFound", err)
	}
}

func configAuths(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Auths map[string]any `json:"auths"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c.Auths
}

// TestOptionsErrors: options that cannot work fail before any request,
// naming what is wrong.
func TestOptionsErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(dir, "config.json")
	if err := os.WriteFile(badConfig, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	ref := "127.0.0.1:1/runs:v1"
	tests := []struct {
		name string
		opts target.Options
		want string
	}{
		{"client and TLS", target.Options{HTTPClient: http.DefaultClient, Insecure: true}, "TLS options"},
		{"cert without key", target.Options{CertFile: notPEM}, "both a certificate file and a key file"},
		{"CA not PEM", target.Options{CAFile: notPEM}, notPEM},
		{"CA missing", target.Options{CAFile: filepath.Join(dir, "none.pem")}, "none.pem"},
		{"CA a directory", target.Options{CAFile: dir}, "not a regular file"},
		{"username without password", target.Options{Username: "alice"}, "password"},
		{"bad registry config", target.Options{RegistryConfig: badConfig}, "registry config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := target.Open(t.Context(), ref, true, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// TestOpenRegistry: a registry client opened with the options of Open
// pings with the credential given and fails without one.
func TestOpenRegistry(t *testing.T) {
	reg := testregistry.StartSecureDistribution(t, testregistry.SecureOptions{Users: users})
	r, err := target.OpenRegistry(reg.Host, target.Options{CAFile: reg.CA.File, Username: "alice", Password: "s3cret-pass"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	r, err = target.OpenRegistry(reg.Host, target.Options{CAFile: reg.CA.File, RegistryConfig: filepath.Join(t.TempDir(), "none.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Ping(t.Context()); !errors.Is(err, auth.ErrBasicCredentialNotFound) {
		t.Fatalf("ping without credential: err = %v, want auth.ErrBasicCredentialNotFound", err)
	}
	if _, err := target.OpenRegistry("not a host", target.Options{}); !errors.Is(err, target.ErrInvalidReference) {
		t.Fatalf("err = %v, want ErrInvalidReference", err)
	}
}
