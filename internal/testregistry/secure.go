package testregistry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"golang.org/x/crypto/bcrypt"

	// Registers Distribution's htpasswd access controller.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
)

// CA is a certificate authority made in a test with crypto/x509.
type CA struct {
	// Cert is the authority's self-signed certificate.
	Cert *x509.Certificate
	// Pool holds Cert only.
	Pool *x509.CertPool
	// File is a PEM file of Cert, in the test's temporary directory.
	File string

	key *ecdsa.PrivateKey
	dir string
}

// NewCA makes a fresh certificate authority valid for an hour.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testregistry: CA key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "runid-oci test CA"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testregistry: CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := &CA{Cert: cert, Pool: x509.NewCertPool(), key: key, dir: dir}
	ca.Pool.AddCert(cert)
	ca.File = writePEM(t, dir, "ca.pem", "CERTIFICATE", der)
	return ca
}

// Issue returns a certificate signed by ca for the host names and IP
// addresses in hosts (a server certificate), or, with no hosts, a client
// certificate for commonName. The certificate and its key are also
// written to PEM files, whose paths are returned.
func (ca *CA) Issue(t testing.TB, commonName string, hosts ...string) (cert tls.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testregistry: key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(hosts) > 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("testregistry: certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.ReplaceAll(commonName, " ", "-")
	certFile = writePEM(t, ca.dir, name+".pem", "CERTIFICATE", der)
	keyFile = writePEM(t, ca.dir, name+"-key.pem", "PRIVATE KEY", keyDER)
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certFile, keyFile
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// SecureOptions say how StartSecureDistribution protects the registry.
type SecureOptions struct {
	// Users turns on Distribution's htpasswd authentication with these
	// users (name to password), written to an htpasswd file with bcrypt
	// hashes. Default: no authentication.
	Users map[string]string
	// RequireClientCert requires every client to present a certificate
	// signed by the registry's CA, as Distribution's http.tls.clientcas
	// does (RequireAndVerifyClientCert). Default: none asked.
	RequireClientCert bool
	// CA signs the registry's certificate. Default: a fresh CA.
	CA *CA
}

// StartSecureDistribution starts a fresh CNCF Distribution v3 registry
// (as [StartDistribution]) served over HTTPS on 127.0.0.1 with a
// certificate for 127.0.0.1 and localhost signed by a test CA (r.CA),
// protected as opts says. Distribution's own server terminates TLS with
// Go's crypto/tls configured from http.tls; here httptest's server does,
// configured the same way, around Distribution's application.
func StartSecureDistribution(t testing.TB, opts SecureOptions) *Registry {
	t.Helper()
	var auth configuration.Auth
	if len(opts.Users) > 0 {
		auth = configuration.Auth{"htpasswd": configuration.Parameters{
			"realm": "runid-oci-test",
			"path":  writeHtpasswd(t, opts.Users),
		}}
	}
	ca := opts.CA
	if ca == nil {
		ca = NewCA(t)
	}
	serverCert, _, _ := ca.Issue(t, "registry", "127.0.0.1", "localhost")
	h := newDistributionApp(t, auth, true)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
	reg := &Registry{Handler: h, CA: ca}
	_, reg.ClientCertFile, reg.ClientKeyFile = ca.Issue(t, "client")
	if opts.RequireClientCert {
		srv.TLS.ClientCAs = ca.Pool
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	// The server's own log would print every refused handshake.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	reg.URL = srv.URL
	reg.Host = strings.TrimPrefix(srv.URL, "https://")
	return reg
}

// writeHtpasswd writes users to an htpasswd file with bcrypt hashes (the
// only kind Distribution accepts), at the lowest cost to keep tests fast.
func writeHtpasswd(t testing.TB, users map[string]string) string {
	t.Helper()
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		hash, err := bcrypt.GenerateFromPassword([]byte(users[n]), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("testregistry: bcrypt: %v", err)
		}
		b.WriteString(n + ":" + string(hash) + "\n")
	}
	p := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Client returns an HTTP client that trusts r's CA and presents r's client
// certificate, for tests that talk to r directly.
func (r *Registry) Client(t testing.TB) *http.Client {
	t.Helper()
	if r.CA == nil {
		return http.DefaultClient
	}
	cert, err := tls.LoadX509KeyPair(r.ClientCertFile, r.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: r.CA.Pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
