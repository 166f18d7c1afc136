package layout

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/referrer"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/sigverify"
)

// writerEnv makes the test binary a writer process (see runWriter).
const writerEnv = "RUNID_LAYOUT_TEST_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(writerEnv); spec != "" {
		os.Exit(runWriter(spec))
	}
	os.Exit(m.Run())
}

// composeRun returns a small identity that differs for every n.
func composeRun(tb testing.TB, n int) *pack.Composition {
	tb.Helper()
	c, err := newRun(n).Compose(context.Background(), pack.BuildOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func newRun(n int) *pack.Run {
	var r pack.Run
	r.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]string{"provider": "openai", "name": "gpt-4o-mini"}))
	r.Add(mediatype.RoleInput, pack.JSON("input/messages.json", []map[string]string{{"role": "user", "content": "question " + strconv.Itoa(n)}}))
	for _, role := range mediatype.CoreRoles() {
		if !slices.Contains(r.Roles(), role) {
			r.None(role)
		}
	}
	return &r
}

// report is one line a writer prints after its write succeeded:
// "push <tag> <digest>", "declared <digest> <digest>" (an untagged
// identity pushed with SetDeferIndex), "attach <subject> <record>" or
// "sign <subject> <signature> <base64 PEM public key>".
type report struct {
	kind, a, b, key string
}

func parseReports(out string) []report {
	var rs []report
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 {
			r := report{kind: f[0], a: f[1], b: f[2]}
			if len(f) > 3 {
				r.key = f[3]
			}
			rs = append(rs, r)
		}
	}
	return rs
}

// runWriter does the writes spec names ("DIR KIND FROM COUNT") into the
// layout DIR and prints a report line after each one succeeded.
func runWriter(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 4 {
		fmt.Fprintln(os.Stderr, "bad writer spec", spec)
		return 2
	}
	dir, kind := f[0], f[1]
	from, _ := strconv.Atoi(f[2])
	count, _ := strconv.Atoi(f[3])
	ctx := context.Background()
	s, err := Open(ctx, dir, Options{Create: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w := bufio.NewWriter(os.Stdout)
	for i := from; i < from+count; i++ {
		line, err := write(ctx, s, kind, i)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		w.WriteString(line + "\n")
		w.Flush()
	}
	return 0
}

// write does one write of kind into s and returns its report line.
func write(ctx context.Context, s *Store, kind string, i int) (string, error) {
	switch kind {
	case "push":
		c, err := newRun(i).Compose(ctx, pack.BuildOptions{})
		if err != nil {
			return "", err
		}
		tag := "run-" + strconv.Itoa(i)
		res, err := pack.Push(ctx, s, c, pack.PushOptions{Tag: tag})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("push %s %s", tag, res.Descriptor.Digest), nil
	case "record":
		// As the recording proxy does: an untagged identity and a record
		// of it, their listing in index.json deferred.
		s.SetDeferIndex(true)
		defer s.SetDeferIndex(false)
		c, err := newRun(i).Compose(ctx, pack.BuildOptions{})
		if err != nil {
			return "", err
		}
		res, err := pack.Push(ctx, s, c, pack.PushOptions{})
		if err != nil {
			return "", err
		}
		p, err := writeAnswer(i)
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(filepath.Dir(p))
		d := res.Descriptor.Digest
		rec, err := referrer.Attach(ctx, s, d.String(), []referrer.OutputFile{{Path: p}}, referrer.AttachOptions{})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("declared %s %s\nattach %s %s", d, d, d, rec.Descriptor.Digest), nil
	case "attach":
		// Records of several writers land on the same few subjects.
		subject := "base-" + strconv.Itoa(i%3)
		p, err := writeAnswer(i)
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(filepath.Dir(p))
		res, err := referrer.Attach(ctx, s, subject, []referrer.OutputFile{{Path: p}}, referrer.AttachOptions{})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("attach %s %s", res.Subject.Digest, res.Descriptor.Digest), nil
	case "sign":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", err
		}
		sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
		if err != nil {
			return "", err
		}
		res, err := sign.Sign(ctx, s, "sig-"+strconv.Itoa(i), sv, sign.SignOptions{})
		if err != nil {
			return "", err
		}
		pem, err := cryptoutils.MarshalPublicKeyToPEM(&priv.PublicKey)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("sign %s %s %s", res.Subject.Digest, res.Signature.Digest, base64.StdEncoding.EncodeToString(pem)), nil
	}
	return "", fmt.Errorf("unknown kind %q", kind)
}

// writerCmd returns the command of a writer process.
func writerCmd(ctx context.Context, dir, kind string, from, count int) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d %d", writerEnv, dir, kind, from, count))
	return cmd
}

// seed pushes the identities that attach ("base-0".."base-2") and sign
// ("sig-N") writers need.
func seed(tb testing.TB, dir string, signers int) {
	tb.Helper()
	s, err := Open(tb.Context(), dir, Options{Create: true})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range 3 {
		if _, err := pack.Push(tb.Context(), s, composeRun(tb, 1_000_000+i), pack.PushOptions{Tag: "base-" + strconv.Itoa(i)}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range signers {
		if _, err := pack.Push(tb.Context(), s, composeRun(tb, 2_000_000+i), pack.PushOptions{Tag: "sig-" + strconv.Itoa(i)}); err != nil {
			tb.Fatal(err)
		}
	}
}

// checkReports opens the layout afresh and checks every reported write:
// a pushed tag resolves to its digest and verifies, a record is a
// referrer of its subject and verifies, a signature verifies with its key.
func checkReports(tb testing.TB, dir string, reports []report) {
	tb.Helper()
	ctx := tb.Context()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		tb.Fatalf("open after writes: %v", err)
	}
	for _, r := range reports {
		switch r.kind {
		case "push":
			desc, err := s.Resolve(ctx, r.a)
			if err != nil {
				tb.Errorf("reported push %s %s: %v", r.a, r.b, err)
				continue
			}
			if desc.Digest.String() != r.b {
				tb.Errorf("tag %s names %s, a writer reported %s", r.a, desc.Digest, r.b)
			}
			if _, err := pull.Verify(ctx, s, r.b, pull.VerifyOptions{}); err != nil {
				tb.Errorf("reported push %s does not verify: %v", r.b, err)
			}
		case "declared":
			if _, err := pull.Verify(ctx, s, r.a, pull.VerifyOptions{}); err != nil {
				tb.Errorf("reported identity %s does not verify: %v", r.a, err)
			}
		case "attach":
			refs, err := s.Predecessors(ctx, ocispec.Descriptor{Digest: digest.Digest(r.a)})
			if err != nil {
				tb.Fatal(err)
			}
			if !slices.ContainsFunc(refs, func(d ocispec.Descriptor) bool { return d.Digest.String() == r.b }) {
				tb.Errorf("reported record %s is not a referrer of %s", r.b, r.a)
			}
			if _, err := pull.Verify(ctx, s, r.b, pull.VerifyOptions{}); err != nil {
				tb.Errorf("reported record %s does not verify: %v", r.b, err)
			}
		case "sign":
			pem, _ := base64.StdEncoding.DecodeString(r.key)
			pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
			if err != nil {
				tb.Fatal(err)
			}
			v, err := signature.LoadVerifier(pub, crypto.SHA256)
			if err != nil {
				tb.Fatal(err)
			}
			desc, err := s.Resolve(ctx, r.a)
			if err != nil {
				tb.Errorf("signed %s: %v", r.a, err)
				continue
			}
			rep, err := sigverify.VerifySignatures(ctx, s, desc, v, sigverify.Options{})
			if err != nil || rep.Verified == 0 {
				tb.Errorf("reported signature of %s does not verify: %v", r.a, err)
			}
		}
	}
}

// indexBytes returns index.json.
func indexBytes(tb testing.TB, dir string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var _ = bytes.Equal

// writeAnswer writes a distinct output file for writer i into a new
// temporary directory, which the caller removes.
func writeAnswer(i int) (string, error) {
	dir, err := os.MkdirTemp("", "answer")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "answer.txt")
	if err := os.WriteFile(p, []byte(fmt.Sprintf("answer %d %d", i, time.Now().UnixNano())), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return p, nil
}
