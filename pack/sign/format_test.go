package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/runid/runid-oci/spec"
)

var (
	subjectDigest = digest.FromString("the identity manifest")
	otherDigest   = digest.FromString("another identity manifest")
)

// newKey returns a fresh signer and its verifier through the cosign key
// file formats.
func newKey(t *testing.T) (signature.SignerVerifier, signature.Verifier) {
	t.Helper()
	priv, pub, err := GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := LoadPrivateKey(priv, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sv, v
}

func sign(t *testing.T, sv signature.Signer, payload []byte) string {
	t.Helper()
	sig, err := sv.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestSignatureTag(t *testing.T) {
	tag, err := spec.SignatureTag(subjectDigest)
	if err != nil {
		t.Fatal(err)
	}
	if want := "sha256-" + subjectDigest.Encoded() + ".sig"; tag != want {
		t.Errorf("tag %q, want %q", tag, want)
	}
	if _, err := spec.SignatureTag("sha256:nothex"); err == nil {
		t.Error("invalid digest accepted")
	}
}

func TestKeys(t *testing.T) {
	priv, pub, err := GenerateKeyPair([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(priv, []byte("ENCRYPTED SIGSTORE PRIVATE KEY")) {
		t.Errorf("private key is not a cosign encrypted key:\n%s", priv)
	}
	for _, tc := range []struct {
		name    string
		key     []byte
		pw      string
		wantErr error
	}{
		{"right password", priv, "secret", nil},
		{"wrong password", priv, "nope", ErrKeyPassword},
		{"not PEM", []byte("hello"), "secret", ErrKey},
		{"public key as private", pub, "secret", ErrKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sv, err := LoadPrivateKey(tc.key, []byte(tc.pw))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			v, err := LoadPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("message")
			sig, err := sv.SignMessage(bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)); err != nil {
				t.Errorf("public key does not verify the private key's signature: %v", err)
			}
			id1, err := VerifierKeyID(sv)
			if err != nil {
				t.Fatal(err)
			}
			id2, err := VerifierKeyID(v)
			if err != nil {
				t.Fatal(err)
			}
			if id1 != id2 || !strings.HasPrefix(id1, "sha256:") {
				t.Errorf("key IDs %q and %q", id1, id2)
			}
		})
	}
	if _, err := LoadPublicKey(priv); !errors.Is(err, ErrKey) {
		t.Errorf("private key loaded as public: %v", err)
	}
}

type fakeTTY struct {
	tty     bool
	answers []string
	prompts []string
}

func (f *fakeTTY) IsTerminal() bool { return f.tty }
func (f *fakeTTY) ReadPassword(p string) ([]byte, error) {
	f.prompts = append(f.prompts, p)
	if len(f.answers) == 0 {
		return nil, errors.New("no input")
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return []byte(a), nil
}

func TestPasswordReader(t *testing.T) {
	env := func(v string, ok bool) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k != PasswordEnv {
				t.Errorf("looked up %q", k)
			}
			return v, ok
		}
	}
	for _, tc := range []struct {
		name    string
		env     func(string) (string, bool)
		tty     *fakeTTY
		confirm bool
		want    string
		wantErr bool
		prompts int
	}{
		{name: "env", env: env("from-env", true), tty: &fakeTTY{tty: true}, want: "from-env"},
		{name: "empty env", env: env("", true), tty: nil, want: ""},
		{name: "prompt", env: env("", false), tty: &fakeTTY{tty: true, answers: []string{"typed"}}, want: "typed", prompts: 1},
		{name: "prompt confirm", env: env("", false), tty: &fakeTTY{tty: true, answers: []string{"a", "a"}}, confirm: true, want: "a", prompts: 2},
		{name: "prompt mismatch", env: env("", false), tty: &fakeTTY{tty: true, answers: []string{"a", "b"}}, confirm: true, wantErr: true, prompts: 2},
		{name: "no tty", env: env("", false), tty: &fakeTTY{tty: false}, wantErr: true},
		{name: "nil tty", env: env("", false), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tty Terminal
			if tc.tty != nil {
				tty = tc.tty
			}
			got, err := PasswordReader(tc.env, tty)(tc.confirm)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.tty != nil && len(tc.tty.prompts) != tc.prompts {
				t.Errorf("%d prompts, want %d", len(tc.tty.prompts), tc.prompts)
			}
			if err == nil && string(got) != tc.want {
				t.Errorf("password %q, want %q", got, tc.want)
			}
			if tc.name == "no tty" && !errors.Is(err, ErrNoPassword) {
				t.Errorf("err = %v, want ErrNoPassword", err)
			}
		})
	}
}

func TestSimpleSigningPayload(t *testing.T) {
	p, err := SimpleSigningPayload(subjectDigest, "127.0.0.1:5000/runs/x")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(p, &got); err != nil {
		t.Fatal(err)
	}
	crit := got["critical"].(map[string]any)
	if crit["type"] != "cosign container image signature" ||
		crit["image"].(map[string]any)["docker-manifest-digest"] != subjectDigest.String() ||
		crit["identity"].(map[string]any)["docker-reference"] != "127.0.0.1:5000/runs/x" {
		t.Errorf("payload %s", p)
	}
	if err := CheckSimpleSigning(p, subjectDigest); err != nil {
		t.Errorf("own payload rejected: %v", err)
	}
	var ce *ClaimError
	if err := CheckSimpleSigning(p, otherDigest); !errors.As(err, &ce) || ce.Claimed != subjectDigest.String() {
		t.Errorf("claim check: %v", err)
	}
	if _, err := SimpleSigningPayload(subjectDigest, "Not A Repo!"); err == nil {
		t.Error("invalid docker reference accepted")
	}
}

func TestVerifySimpleSigning(t *testing.T) {
	ctx := context.Background()
	sv, v := newKey(t)
	other, _ := newKey(t)
	payload, err := SimpleSigningPayload(subjectDigest, "registry.example/runs")
	if err != nil {
		t.Fatal(err)
	}
	otherPayload, err := SimpleSigningPayload(otherDigest, "registry.example/runs")
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Replace(payload, []byte("registry.example"), []byte("registry.evil"), 1)
	good := sign(t, sv, payload)
	rawGood, _ := base64.StdEncoding.DecodeString(good)
	for _, tc := range []struct {
		name    string
		payload []byte
		sig     string
		wantErr error
	}{
		{"valid", payload, good, nil},
		{"other key", payload, sign(t, other, payload), ErrBadSignature},
		{"altered payload", altered, good, ErrBadSignature},
		{"bad base64", payload, "!!!" + good, ErrMalformedSignature},
		{"empty signature", payload, "", ErrMalformedSignature},
		{"bad DER", payload, base64.StdEncoding.EncodeToString(append([]byte{0x31}, rawGood[1:]...)), ErrMalformedSignature},
		{"trailing bytes", payload, base64.StdEncoding.EncodeToString(append(append([]byte{}, rawGood...), 0)), ErrMalformedSignature},
		{"moved signature", otherPayload, sign(t, sv, otherPayload), ErrClaimMismatch},
		{"not a payload", []byte("{}"), sign(t, sv, []byte("{}")), ErrMalformedPayload},
		{"not JSON", []byte("xx"), sign(t, sv, []byte("xx")), ErrMalformedPayload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySimpleSigning(ctx, tc.payload, tc.sig, v, subjectDigest)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyBundle(t *testing.T) {
	ctx := context.Background()
	sv, v := newKey(t)
	other, _ := newKey(t)
	good, err := NewBundle(ctx, sv, subjectDigest)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(good)
	if err != nil {
		t.Fatalf("own bundle does not parse: %v", err)
	}
	if got, _ := b.Version(); got != "v0.3" {
		t.Errorf("bundle version %q", got)
	}
	otherKey, err := NewBundle(ctx, other, subjectDigest)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := NewBundle(ctx, sv, otherDigest)
	if err != nil {
		t.Fatal(err)
	}
	// altered: the statement of another subject with the good signature.
	alter := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	stmt, err := InTotoStatement(subjectDigest)
	if err != nil {
		t.Fatal(err)
	}
	alteredStmt := bytes.Replace(stmt, []byte(`"subject"`), []byte(`"name":"x","subject"`), 1)
	altered := alter(func(m map[string]any) {
		m["dsseEnvelope"].(map[string]any)["payload"] = base64.StdEncoding.EncodeToString(alteredStmt)
	})
	badDER := alter(func(m map[string]any) {
		m["dsseEnvelope"].(map[string]any)["signatures"] = []any{map[string]any{"sig": base64.StdEncoding.EncodeToString([]byte("not DER at all"))}}
	})
	for _, tc := range []struct {
		name    string
		bundle  []byte
		wantErr error
	}{
		{"valid", good, nil},
		{"other key", otherKey, ErrBadSignature},
		{"moved", moved, ErrClaimMismatch},
		{"altered statement", altered, ErrBadSignature},
		{"bad DER", badDER, ErrMalformedSignature},
		{"not JSON", []byte("{"), ErrMalformedBundle},
		{"empty object", []byte("{}"), ErrMalformedBundle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyBundle(tc.bundle, v, subjectDigest)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestBuildTagManifest(t *testing.T) {
	l1 := SignatureLayer([]byte("payload-1"), "c2lnMQ==")
	l2 := SignatureLayer([]byte("payload-2"), "c2lnMg==")
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: subjectDigest, Size: 42,
		Annotations: map[string]string{"dropped": "yes"}}
	for _, tc := range []struct {
		name    string
		layers  []ocispec.Descriptor
		subject *ocispec.Descriptor
	}{
		{"one layer, no subject", []ocispec.Descriptor{l1}, nil},
		{"two layers, subject", []ocispec.Descriptor{l1, l2}, &subject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := BuildTagManifest(tc.layers, tc.subject)
			if err != nil {
				t.Fatal(err)
			}
			if b.Descriptor.Digest != digest.FromBytes(b.Manifest) || b.ConfigDesc.Digest != digest.FromBytes(b.Config) {
				t.Error("descriptors do not match the bytes")
			}
			// The config is what go-containerregistry writes for cosign:
			// one history entry and one diff ID per layer.
			var cfg struct {
				History []map[string]string `json:"history"`
				RootFS  struct {
					Type    string   `json:"type"`
					DiffIDs []string `json:"diff_ids"`
				} `json:"rootfs"`
			}
			if err := json.Unmarshal(b.Config, &cfg); err != nil {
				t.Fatal(err)
			}
			if len(cfg.History) != len(tc.layers) || len(cfg.RootFS.DiffIDs) != len(tc.layers) || cfg.RootFS.Type != "layers" {
				t.Errorf("config %s", b.Config)
			}
			for i, l := range tc.layers {
				if cfg.RootFS.DiffIDs[i] != l.Digest.String() {
					t.Errorf("diff_id %d = %s, want %s", i, cfg.RootFS.DiffIDs[i], l.Digest)
				}
			}
			m, err := ParseManifest(b.Manifest)
			if err != nil {
				t.Fatal(err)
			}
			if KindOf(m) != KindTag || m.Config.MediaType != spec.SignatureConfigMediaType {
				t.Errorf("kind %v, config %s", KindOf(m), m.Config.MediaType)
			}
			if tc.subject == nil {
				if m.Subject != nil || m.ArtifactType != "" {
					t.Errorf("subject %v, artifactType %q", m.Subject, m.ArtifactType)
				}
				return
			}
			if m.Subject == nil || m.Subject.Digest != subjectDigest || m.Subject.Annotations != nil || m.ArtifactType != spec.SignatureArtifactType {
				t.Errorf("subject %+v, artifactType %q", m.Subject, m.ArtifactType)
			}
		})
	}
	if _, err := BuildTagManifest(nil, nil); !errors.Is(err, ErrMalformedManifest) {
		t.Errorf("empty manifest: %v", err)
	}
	many := make([]ocispec.Descriptor, spec.MaxSignatureLayers+1)
	for i := range many {
		many[i] = l1
	}
	if _, err := BuildTagManifest(many, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too many layers: %v", err)
	}
}

func TestBuildBundleManifest(t *testing.T) {
	bundle := ocispec.Descriptor{MediaType: spec.BundleMediaType, Digest: digest.FromString("b"), Size: 1}
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: subjectDigest, Size: 42}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := BuildBundleManifest(bundle, subject, created)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(b.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if KindOf(m) != KindBundle || m.ArtifactType != spec.BundleMediaType || m.Config.ArtifactType != spec.BundleMediaType ||
		m.Config.MediaType != spec.EmptyConfigMediaType || string(b.Config) != "{}" {
		t.Errorf("manifest %s", b.Manifest)
	}
	if m.Annotations[ocispec.AnnotationCreated] != "2026-01-02T03:04:05Z" || m.Annotations[spec.BundleContentAnnotation] != "dsse-envelope" ||
		m.Annotations[spec.BundlePredicateTypeAnnotation] != spec.SignPredicateType {
		t.Errorf("annotations %v", m.Annotations)
	}
	if m.Subject == nil || m.Subject.Digest != subjectDigest {
		t.Errorf("subject %v", m.Subject)
	}
}

func TestParseManifestBounds(t *testing.T) {
	if _, err := ParseManifest(bytes.Repeat([]byte(" "), spec.MaxSignatureManifestSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized manifest: %v", err)
	}
	if _, err := ParseManifest([]byte("nope")); !errors.Is(err, ErrMalformedManifest) {
		t.Errorf("bad JSON: %v", err)
	}
	for _, tc := range []struct {
		artifactType string
		want         bool
	}{
		{spec.BundleMediaType, true}, {spec.SignatureArtifactType, true}, {spec.EmptyConfigMediaType, true},
		{"application/vnd.runid.output.v1", false},
	} {
		if got := MayHoldSignatures(tc.artifactType); got != tc.want {
			t.Errorf("MayHoldSignatures(%q) = %v", tc.artifactType, got)
		}
	}
}
