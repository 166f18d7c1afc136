// Package sigstoretest runs a private Sigstore in process, for tests of
// keyless signing and verification: sigstore-go's virtual Sigstore (its
// transparency log key, CT log key and timestamp authority, and a Fulcio CA
// that certifies keys it makes) plus a second Fulcio CA that certifies any
// key, served with the transparency log over HTTP as Fulcio's
// /api/v2/signingCert and Rekor's /api/v1/log/entries, so that the real
// Fulcio and Rekor clients of sigstore-go talk to it.
//
// The log is a one-leaf tree per entry: every entry has a signed entry
// timestamp and an inclusion proof with a signed checkpoint, made by the
// virtual Sigstore. The certificates FulcioURL issues embed a signed
// certificate timestamp (RFC 6962 §3.3) from this deployment's CT log,
// whose key the trusted root holds, as a real Fulcio's do; SetSCT makes
// them carry none, or a tampered one. (The virtual Sigstore's own CA, which
// Virtual.Sign uses, embeds none.)
package sigstoretest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509util "github.com/google/certificate-transparency-go/x509util"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // register the kinds the log accepts
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // (sigstore-go proposes these)
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Sigstore is a private Sigstore deployment in process.
type Sigstore struct {
	// Virtual is sigstore-go's virtual Sigstore; its Sign and Attest make
	// complete signed entities directly.
	Virtual *ca.VirtualSigstore
	// FulcioURL and RekorURL serve Fulcio's and Rekor's APIs.
	FulcioURL, RekorURL string

	caRoot, caInter *x509.Certificate
	caInterKey      crypto.Signer
	ctKey           *ecdsa.PrivateKey

	mu  sync.Mutex
	sct SCT
}

// SCT says what signed certificate timestamp the certificates FulcioURL
// issues embed.
type SCT int

const (
	// SCTValid: a valid SCT from the deployment's CT log (the default).
	SCTValid SCT = iota
	// SCTNone: no SCT, as a Fulcio that logs to no CT log issues.
	SCTNone
	// SCTTampered: an SCT whose timestamp was changed after the log
	// signed it.
	SCTTampered
)

// SetSCT sets the SCT of the certificates issued from now on.
func (s *Sigstore) SetSCT(m SCT) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sct = m
}

// New starts a private Sigstore; it stops with the test.
func New(t testing.TB) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	ctKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sigstore{Virtual: vs, caRoot: rootCert, caInter: inter, caInterKey: interKey, ctKey: ctKey}
	f := httptest.NewServer(http.HandlerFunc(s.fulcio))
	t.Cleanup(f.Close)
	r := httptest.NewServer(http.HandlerFunc(s.rekor))
	t.Cleanup(r.Close)
	s.FulcioURL, s.RekorURL = f.URL, r.URL
	return s
}

// Token is an OIDC identity token for subject (an email) from issuer, as
// Fulcio takes it. This Fulcio does not check its signature.
func Token(subject, issuer string) string {
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{
		"iss": issuer, "sub": subject, "email": subject, "email_verified": true, "aud": "sigstore",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	})
	// A well-formed ES256 JWT whose signature nobody checks.
	return enc.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(make([]byte, 64))
}

// TrustedRoot is the trusted root of this Sigstore: both Fulcio CAs, the
// virtual transparency log, the CT logs (this deployment's and the virtual
// one), and the timestamp authority.
func (s *Sigstore) TrustedRoot(t testing.TB) *root.TrustedRoot {
	t.Helper()
	cas := append([]root.CertificateAuthority{}, s.Virtual.FulcioCertificateAuthorities()...)
	cas = append(cas, &root.FulcioCertificateAuthority{
		Root: s.caRoot, Intermediates: []*x509.Certificate{s.caInter},
		ValidityPeriodStart: time.Now().Add(-time.Hour), ValidityPeriodEnd: time.Now().Add(time.Hour),
		URI: s.FulcioURL,
	})
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, s.ctLogs(t),
		s.Virtual.TimestampingAuthorities(), rawIDs(s.Virtual.RekorLogs()))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// WriteTrustedRoot writes TrustedRoot as JSON (the format of "cosign
// trusted-root create") into dir and returns its path.
func (s *Sigstore) WriteTrustedRoot(t testing.TB, dir string) string {
	t.Helper()
	b, err := s.TrustedRoot(t).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ctLogs are the CT logs of the trusted root: the virtual Sigstore's and
// the one that signs the SCTs of FulcioURL's certificates.
func (s *Sigstore) ctLogs(t testing.TB) map[string]*root.TransparencyLog {
	t.Helper()
	logs := rawIDs(s.Virtual.CTLogs())
	id, err := s.ctLogID()
	if err != nil {
		t.Fatal(err)
	}
	logs[hex.EncodeToString(id[:])] = &root.TransparencyLog{
		BaseURL: "https://ct.invalid", ID: id[:], HashFunc: crypto.SHA256, SignatureHashFunc: crypto.SHA256,
		PublicKey: s.ctKey.Public(), ValidityPeriodStart: time.Now().Add(-time.Hour),
	}
	return logs
}

// ctLogID is the CT log's ID: the SHA-256 of its DER public key (RFC 6962
// §3.2).
func (s *Sigstore) ctLogID() ([32]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(s.ctKey.Public())
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(der), nil
}

// oidcIssuerOID is Fulcio's OIDC issuer extension (the raw string, v1).
var oidcIssuerOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}

// leafCert issues a code-signing certificate for pub naming email and the
// OIDC issuer, valid for ten minutes from a minute ago, signed by the
// Fulcio intermediate, with the SCT SetSCT asks for. The SCT is made as a
// CT log makes one for a precertificate: its signature covers the issuer's
// key hash and the TBS certificate without the SCT list extension, which is
// then added as the last extension (so that a verifier removing it gets
// back exactly the TBS the log signed).
func (s *Sigstore) leafCert(email, issuer string, pub crypto.PublicKey) (*x509.Certificate, error) {
	s.mu.Lock()
	mode := s.sct
	s.mu.Unlock()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	notBefore := time.Now().Add(-time.Minute).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		EmailAddresses:  []string{email},
		NotBefore:       notBefore,
		NotAfter:        notBefore.Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: oidcIssuerOID, Value: []byte(issuer)}},
	}
	issue := func() (*x509.Certificate, error) {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caInter, pub, s.caInterKey)
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	pre, err := issue()
	if err != nil || mode == SCTNone {
		return pre, err
	}
	logID, err := s.ctLogID()
	if err != nil {
		return nil, err
	}
	sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: logID}, Timestamp: uint64(time.Now().UnixMilli())}
	leaf := ct.MerkleTreeLeaf{Version: ct.V1, LeafType: ct.TimestampedEntryLeafType, TimestampedEntry: &ct.TimestampedEntry{
		EntryType: ct.PrecertLogEntryType, Timestamp: sct.Timestamp,
		PrecertEntry: &ct.PreCert{IssuerKeyHash: sha256.Sum256(s.caInter.RawSubjectPublicKeyInfo), TBSCertificate: pre.RawTBSCertificate},
	}}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: leaf})
	if err != nil {
		return nil, err
	}
	sig, err := cttls.CreateSignature(*s.ctKey, cttls.SHA256, input)
	if err != nil {
		return nil, err
	}
	sct.Signature = ct.DigitallySigned(sig)
	if mode == SCTTampered {
		sct.Timestamp++
	}
	list, err := ctx509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{&sct})
	if err != nil {
		return nil, err
	}
	listBytes, err := cttls.Marshal(*list)
	if err != nil {
		return nil, err
	}
	ext, err := asn1.Marshal(listBytes)
	if err != nil {
		return nil, err
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}, Value: ext})
	return issue()
}

// rawIDs gives the logs the raw key IDs that a trusted root file holds
// (the virtual Sigstore keeps the hex string).
func rawIDs(logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
	out := map[string]*root.TransparencyLog{}
	for id, l := range logs {
		c := *l
		if raw, err := hex.DecodeString(id); err == nil {
			c.ID = raw
		}
		c.BaseURL = "https://log.invalid"
		out[id] = &c
	}
	return out
}

// fulcio serves POST /api/v2/signingCert (and the v1 API that cosign's
// tag-format signing uses): a certificate for the public
// key, with the token's email and issuer, valid for ten minutes.
func (s *Sigstore) fulcio(w http.ResponseWriter, r *http.Request) {
	v1 := r.URL.Path == "/api/v1/signingCert"
	if r.Method != http.MethodPost || (!v1 && r.URL.Path != "/api/v2/signingCert") {
		http.NotFound(w, r)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct{ Content string }
		}
		PublicKey struct{ Content []byte } // the v1 API
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	keyPEM := []byte(req.PublicKeyRequest.PublicKey.Content)
	if v1 {
		keyPEM = req.PublicKey.Content
		if !bytes.HasPrefix(keyPEM, []byte("-----")) {
			keyPEM = cryptoutils.PEMEncode(cryptoutils.PublicKeyPEMType, keyPEM)
		}
	}
	var claims struct{ Iss, Email string }
	tok := r.Header.Get("Authorization")
	if parts := strings.Split(strings.TrimPrefix(tok, "Bearer "), "."); len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(b, &claims)
		}
	}
	if claims.Email == "" || claims.Iss == "" {
		http.Error(w, "no identity token", http.StatusUnauthorized)
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(keyPEM)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	leaf, err := s.leafCert(claims.Email, claims.Iss, pub)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var chain []string
	for _, c := range []*x509.Certificate{leaf, s.caInter, s.caRoot} {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	if v1 {
		// The v1 API answers with the PEM chain, leaf first.
		w.Header().Set("Content-Type", "application/pem-certificate-chain")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, strings.Join(chain, ""))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

// rekor serves POST /api/v1/log/entries: it canonicalizes the proposed
// entry with Rekor's own types and logs it in the virtual log.
func (s *Sigstore) rekor(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	impl, err := types.UnmarshalEntry(pe)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	canon, err := impl.Canonicalize(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	entry, uuid, err := s.Log(canon)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]models.LogEntryAnon{uuid: entry})
}

// Log logs a canonicalized Rekor entry body: it returns the entry with its
// signed entry timestamp and inclusion proof, and its UUID.
func (s *Sigstore) Log(body []byte) (models.LogEntryAnon, string, error) {
	return s.LogAt(body, time.Now())
}

// LogAt is Log with the integrated time at.
func (s *Sigstore) LogAt(body []byte, at time.Time) (models.LogEntryAnon, string, error) {
	// The virtual log's tree holds each entry alone, at index 0.
	idx := int64(0)
	logID, err := s.Virtual.RekorLogID()
	if err != nil {
		return models.LogEntryAnon{}, "", err
	}
	now := at.Unix()
	b64 := base64.StdEncoding.EncodeToString(body)
	set, err := s.Virtual.RekorSignPayload(tlog.RekorPayload{Body: b64, IntegratedTime: now, LogIndex: idx, LogID: logID})
	if err != nil {
		return models.LogEntryAnon{}, "", err
	}
	proof, err := s.Virtual.GetInclusionProof(body)
	if err != nil {
		return models.LogEntryAnon{}, "", err
	}
	leaf := sha256.Sum256(append([]byte{0}, body...))
	return models.LogEntryAnon{
		Body: b64, IntegratedTime: &now, LogIndex: &idx, LogID: &logID,
		Verification: &models.LogEntryAnonVerification{SignedEntryTimestamp: strfmt.Base64(set), InclusionProof: proof},
	}, hex.EncodeToString(leaf[:]), nil
}

// String describes the deployment.
func (s *Sigstore) String() string {
	return fmt.Sprintf("sigstore fulcio=%s rekor=%s", s.FulcioURL, s.RekorURL)
}

// TrustedRootVirtualFulcio is TrustedRoot without the Fulcio CA that
// FulcioURL serves: certificates from FulcioURL do not chain to it.
func (s *Sigstore) TrustedRootVirtualFulcio(t testing.TB) *root.TrustedRoot {
	t.Helper()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.Virtual.FulcioCertificateAuthorities(), s.ctLogs(t),
		s.Virtual.TimestampingAuthorities(), rawIDs(s.Virtual.RekorLogs()))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// WriteSigningConfig writes a Sigstore signing config (media type
// application/vnd.dev.sigstore.signingconfig.v0.2+json) naming this
// deployment's Fulcio and Rekor into dir, for "cosign sign
// --signing-config", and returns its path.
func (s *Sigstore) WriteSigningConfig(t testing.TB, dir string) string {
	t.Helper()
	svc := func(url string) []map[string]any {
		return []map[string]any{{"url": url, "majorApiVersion": 1, "operator": "runid-oci-test",
			"validFor": map[string]any{"start": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}}
	}
	b, err := json.Marshal(map[string]any{
		"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		"caUrls":    svc(s.FulcioURL), "oidcUrls": []any{}, "rekorTlogUrls": svc(s.RekorURL), "tsaUrls": []any{},
		"rekorTlogConfig": map[string]any{"selector": "ANY"}, "tsaConfig": map[string]any{"selector": "ANY"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "signing_config.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// WriteRekorPublicKey writes the transparency log's public key (PEM) into
// dir, for cosign's SIGSTORE_REKOR_PUBLIC_KEY, and returns its path.
func (s *Sigstore) WriteRekorPublicKey(t testing.TB, dir string) string {
	t.Helper()
	for _, l := range s.Virtual.RekorLogs() {
		b, err := cryptoutils.MarshalPublicKeyToPEM(l.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "rekor.pub")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Fatal("no transparency log")
	return ""
}

// WriteFulcioCAs writes the root and the intermediate certificate (PEM) of
// the Fulcio CA that FulcioURL serves into dir, for cosign's --ca-roots and
// --ca-intermediates, and returns their paths.
func (s *Sigstore) WriteFulcioCAs(t testing.TB, dir string) (roots, intermediates string) {
	t.Helper()
	roots, intermediates = filepath.Join(dir, "fulcio-root.pem"), filepath.Join(dir, "fulcio-intermediate.pem")
	for p, c := range map[string]*x509.Certificate{roots: s.caRoot, intermediates: s.caInter} {
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return roots, intermediates
}

// WriteCTLogPublicKey writes the public key (PEM) of the CT log that signs
// the SCTs of FulcioURL's certificates into dir, for cosign's
// SIGSTORE_CT_LOG_PUBLIC_KEY_FILE, and returns its path.
func (s *Sigstore) WriteCTLogPublicKey(t testing.TB, dir string) string {
	t.Helper()
	b, err := cryptoutils.MarshalPublicKeyToPEM(s.ctKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ctlog.pub")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
