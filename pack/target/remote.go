package target

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	"github.com/runid/runid-oci/pack"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

// ErrOptions: Options that cannot be used together, or a TLS or
// credential file that cannot be used.
var ErrOptions = errors.New("invalid target options")

// hasTLS reports whether o sets any TLS field.
func (o Options) hasTLS() bool {
	return o.Insecure || o.CAFile != "" || o.CertFile != "" || o.KeyFile != ""
}

// tlsConfig is the client TLS configuration o asks for, or nil for Go's
// defaults.
func (o Options) tlsConfig() (*tls.Config, error) {
	if !o.hasTLS() {
		return nil, nil
	}
	conf := &tls.Config{InsecureSkipVerify: o.Insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // Insecure is the user's explicit choice
	if o.CAFile != "" {
		pem, err := pack.ReadRegular(o.CAFile, maxPEMFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %w", ErrOptions, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrOptions, o.CAFile)
		}
		conf.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, fmt.Errorf("%w: a client certificate needs both a certificate file and a key file", ErrOptions)
	}
	if o.CertFile != "" {
		certPEM, err := pack.ReadRegular(o.CertFile, maxPEMFile)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate: %w", ErrOptions, err)
		}
		keyPEM, err := pack.ReadRegular(o.KeyFile, maxPEMFile)
		if err != nil {
			return nil, fmt.Errorf("%w: client key: %w", ErrOptions, err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate %s and key %s: %w", ErrOptions, o.CertFile, o.KeyFile, err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// maxPEMFile caps the size of a CA, certificate or key file.
const maxPEMFile = 1 << 20

// newAuthClient is the oras-go client of a registry host: o's HTTP client
// (or the default one), and no credential yet.
func newAuthClient(o Options) (*auth.Client, error) {
	client := &auth.Client{
		Client: o.HTTPClient,
		Cache:  auth.NewCache(),
		Header: http.Header{"User-Agent": {userAgent(o)}},
	}
	if client.Client != nil && o.hasTLS() {
		return nil, fmt.Errorf("%w: the TLS options apply to the default HTTP client only; configure the transport of the HTTP client given", ErrOptions)
	}
	if client.Client == nil {
		c, err := NewHTTPClient(o)
		if err != nil {
			return nil, err
		}
		client.Client = c
	}
	return client, nil
}

// credential is the credential source o asks for on registry host, in
// order: Credential, Username and Password (for host only), the credential
// store.
func (o Options) credential(host string) (auth.CredentialFunc, error) {
	switch {
	case o.Credential != nil:
		return o.Credential, nil
	case o.Username != "" && o.Password == "":
		return nil, fmt.Errorf("%w: a username needs a password", ErrOptions)
	case o.Password != "":
		return auth.StaticCredential(host, staticCredential(o.Username, o.Password)), nil
	}
	store, err := NewCredentialStore(o.RegistryConfig)
	if err != nil {
		return nil, err
	}
	return credentials.Credential(store), nil
}

// staticCredential is a username and password, or an identity token when
// there is no username (as oras and Docker read them).
func staticCredential(username, password string) auth.Credential {
	if username == "" {
		return auth.Credential{RefreshToken: password}
	}
	return auth.Credential{Username: username, Password: password}
}

// NewCredentialStore opens the Docker-style credential store of the config
// file at path, or of the Docker config (DOCKER_CONFIG or
// ~/.docker/config.json) when path is empty: credentials in the file, or in
// the credential helpers it names (credsStore, credHelpers). Credentials
// are stored in the file itself (base64, as Docker does) only when it names
// no helper. A file that does not exist is an empty store.
func NewCredentialStore(path string) (credentials.Store, error) {
	opts := credentials.StoreOptions{AllowPlaintextPut: true}
	var (
		store credentials.Store
		err   error
	)
	if path != "" {
		if err := refuseIrregular(path); err != nil {
			return nil, fmt.Errorf("registry config: %w", err)
		}
		store, err = credentials.NewStore(path, opts)
	} else {
		store, err = credentials.NewStoreFromDocker(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("registry config: %w", err)
	}
	return store, nil
}

// OpenRegistry returns an oras-go client of the registry host registryName
// ("host[:port]"), opened with opts as Open opens a repository.
func OpenRegistry(registryName string, opts Options) (*remote.Registry, error) {
	reg, err := remote.NewRegistry(registryName)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v (want a registry host[:port])", ErrInvalidReference, registryName, err)
	}
	reg.PlainHTTP = opts.PlainHTTP
	client, err := newAuthClient(opts)
	if err != nil {
		return nil, err
	}
	if client.Credential, err = opts.credential(reg.Reference.Registry); err != nil {
		return nil, err
	}
	reg.Client = client
	return reg, nil
}

// Login checks cred against the registry registryName ("host[:port]") and,
// if the registry accepts it, stores it in the credential store of
// opts.RegistryConfig (default: the Docker config), where Open and Docker
// find it. opts' TLS and PlainHTTP fields say how to reach the registry;
// its credential fields are not used. A registry that asks for no
// credential accepts any.
func Login(ctx context.Context, registryName string, cred auth.Credential, opts Options) error {
	if cred == auth.EmptyCredential {
		return fmt.Errorf("%w: login needs a credential", ErrOptions)
	}
	reg, err := remote.NewRegistry(registryName)
	if err != nil {
		return fmt.Errorf("%w %q: %v (want a registry host[:port])", ErrInvalidReference, registryName, err)
	}
	reg.PlainHTTP = opts.PlainHTTP
	if reg.Client, err = newAuthClient(opts); err != nil {
		return err
	}
	store, err := NewCredentialStore(opts.RegistryConfig)
	if err != nil {
		return err
	}
	return credentials.Login(ctx, store, reg, cred)
}

// Logout removes the credential of the registry registryName
// ("host[:port]") from the credential store of opts.RegistryConfig
// (default: the Docker config). Removing a credential that is not there
// succeeds.
func Logout(ctx context.Context, registryName string, opts Options) error {
	if _, err := remote.NewRegistry(registryName); err != nil {
		return fmt.Errorf("%w %q: %v (want a registry host[:port])", ErrInvalidReference, registryName, err)
	}
	store, err := NewCredentialStore(opts.RegistryConfig)
	if err != nil {
		return err
	}
	return credentials.Logout(ctx, store, registryName)
}

// LoginCredential is the credential of a username and password, or of an
// identity token when username is empty.
func LoginCredential(username, password string) auth.Credential {
	return staticCredential(username, password)
}
