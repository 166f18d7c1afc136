package report_test

import (
	"bytes"
	"fmt"
	"html"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runid/runid-oci/internal/testutil"
	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/pack/sign"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/pull/policy"
	"github.com/runid/runid-oci/pull/report"
	"github.com/runid/runid-oci/pull/sigverify"
	"github.com/runid/runid-oci/spec"
)

// TestExamples reports each worked example, signed and with an output
// record, and checks what the report says against the identity.
func TestExamples(t *testing.T) {
	key := testutil.Key(t)
	for _, name := range exampleNames {
		t.Run(name, func(t *testing.T) {
			s := newLayout(t)
			desc := pushExample(t, s, name)
			if _, err := sign.Sign(t.Context(), s, name, key, sign.SignOptions{}); err != nil {
				t.Fatal(err)
			}
			attachRecord(t, s, name, map[string]any{spec.FactStatus: spec.StatusSucceeded, spec.FactStartedAt: "2026-12-01T09:00:00Z",
				spec.FactEndedAt: "2026-12-01T09:00:04Z", spec.FactServedModel: "served-model-1"}, "answer.md", []byte("# Answer\n"))
			r, doc := render(t, s, name, report.Options{Location: s.location(), Keys: []report.KeyCheck{keyCheck("cosign.pub", key)}})
			writeArtifact(t, name+".html", doc)
			if !r.Verified || r.IdentityDigest != desc.Digest {
				t.Fatalf("verified %v digest %s, want verified %s; failed: %v", r.Verified, r.IdentityDigest, desc.Digest, r.Failed())
			}
			id, err := pull.Inspect(t.Context(), s, name, pull.Options{})
			if err != nil {
				t.Fatal(err)
			}
			page := html.UnescapeString(string(doc))
			pub, _ := key.PublicKey()
			keyID, err := sign.KeyID(pub)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"verified", desc.Digest.String(), "served-model-1", "output record", keyID} {
				if !strings.Contains(page, want) {
					t.Errorf("report lacks %q", want)
				}
			}
			for role, state := range id.Document.Roles {
				if !strings.Contains(page, `id="role-`+role+`"`) {
					t.Errorf("role %s (%s) not shown", role, state)
				}
			}
			for _, c := range id.Document.Components {
				for _, want := range []string{c.Digest.String(), c.MediaType} {
					if !strings.Contains(page, want) {
						t.Errorf("component %s: %q not shown", c.Name, want)
					}
				}
			}
		})
	}
}

var generatedLine = regexp.MustCompile(`(?m)^<p class="generated">.*</p>$`)

// TestDeterministic: two reports of the same identity made at different
// times differ in the generation line only.
func TestDeterministic(t *testing.T) {
	s := newLayout(t)
	pushExample(t, s, "rag-agent")
	_, a := render(t, s, "rag-agent", report.Options{Location: s.location(), Now: fixedNow})
	_, b := render(t, s, "rag-agent", report.Options{Location: s.location(), Now: func() time.Time { return fixedNow().Add(49 * time.Hour) }})
	if bytes.Equal(a, b) {
		t.Fatal("the generation time is not shown")
	}
	if n := len(generatedLine.FindAll(a, -1)); n != 1 {
		t.Fatalf("%d generation lines, want 1", n)
	}
	if !bytes.Equal(generatedLine.ReplaceAll(a, nil), generatedLine.ReplaceAll(b, nil)) {
		t.Fatal("reports of the same identity differ beyond the generation line")
	}
}

// TestWithheldAndCredentials: a withheld component's content appears
// nowhere in the report, only its commitment; a disclosed credential is
// replaced by a note.
func TestWithheldAndCredentials(t *testing.T) {
	const secretPrompt = "The discount code for VIP customers is PINEAPPLE-77."
	const token = "ghp_" + "abcdefghijklmnopqrstuvwxyzABCDEF0123"
	var run pack.Run
	run.Add(mediatype.RoleModel, pack.JSON("model.json", map[string]any{"provider": "openai", "name": "gpt-4o-mini"}))
	run.Add(mediatype.RoleSystemPrompt, pack.Text("system-prompt/vip.md", secretPrompt+"\n").Withhold())
	run.Add(mediatype.RoleConfig, pack.Text("config/notes.txt", "line one\ntoken: "+token+"\nline three\n"))
	run.Add(mediatype.RoleInput, pack.JSON("input/request.json", map[string]any{"headers": map[string]any{"Authorization": "Bearer " + token}, "q": "hello"}))
	run.None(mediatype.RoleParameters, mediatype.RoleTools, mediatype.RoleContext, mediatype.RoleRuntime)
	comp, err := run.Compose(t.Context(), pack.BuildOptions{WithholdSecret: []byte("owner secret of at least 32 bytes!!")})
	if err != nil {
		t.Fatal(err)
	}
	s := newLayout(t)
	if _, err := pack.Push(t.Context(), s, comp, pack.PushOptions{Tag: "v1", AllowSecrets: true}); err != nil {
		t.Fatal(err)
	}
	r, doc := render(t, s, "v1", report.Options{Location: s.location()})
	page := html.UnescapeString(string(doc))
	for _, leak := range []string{"PINEAPPLE", token, "VIP customers"} {
		if strings.Contains(page, leak) {
			t.Errorf("the report holds %q", leak)
		}
	}
	if !r.Verified {
		t.Fatalf("does not verify: %v", r.Failed())
	}
	var withheld *report.Component
	for _, role := range r.Roles {
		for i, c := range role.Components {
			if c.Withheld() {
				withheld = &role.Components[i]
			}
		}
	}
	if withheld == nil || withheld.Commitment == nil || !strings.Contains(page, withheld.Commitment.Commitment) {
		t.Fatalf("the withheld component's commitment is not shown: %+v", withheld)
	}
	for _, want := range []string{"line one", "line three", "line removed from this report", "value removed from this report", `"q": "hello"`, "--reveal REVEAL.json --component FILE"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestDoesNotVerify: a tampered blob gives a report whose verdict says so
// and lists the failed check, not an error.
func TestDoesNotVerify(t *testing.T) {
	s := newLayout(t)
	pushExample(t, s, "rag-agent")
	id, err := pull.Inspect(t.Context(), s, "rag-agent", pull.Options{})
	if err != nil {
		t.Fatal(err)
	}
	victim := id.Document.Components[len(id.Document.Components)-1]
	testutil.TamperBlob(t, s.dir, victim.Digest)
	r, doc := render(t, s, "rag-agent", report.Options{Location: s.location()})
	if r.Verified || len(r.Failed()) == 0 {
		t.Fatal("a tampered identity is reported verified")
	}
	page := string(doc)
	if !strings.Contains(page, "does not verify") || !strings.Contains(page, "blob-digest") {
		t.Fatal("the verdict does not say what failed")
	}
}

// TestChain: the report of an output record verifies the chain to its
// identity, and reports the identity's composition.
func TestChain(t *testing.T) {
	s := newLayout(t)
	desc := pushExample(t, s, "minimal")
	rec := attachRecord(t, s, "minimal", map[string]any{spec.FactStatus: spec.StatusSucceeded}, "answer.md", []byte("yes\n"))
	r, doc := render(t, s, rec.Digest.String(), report.Options{Location: s.location()})
	if !r.Verified || r.Digest != rec.Digest || r.IdentityDigest != desc.Digest || len(r.Chain) != 2 || len(r.Roles) != 8 {
		t.Fatalf("verified %v digest %s identity %s chain %v roles %d", r.Verified, r.Digest, r.IdentityDigest, r.Chain, len(r.Roles))
	}
	page := html.UnescapeString(string(doc))
	for _, want := range []string{"Output record", "runid-oci verify --oci-layout " + s.dir + "@" + rec.Digest.String()} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestPaging: a large role shows its first page with content and lists the
// rest without reading it, so the content budget still covers the roles
// after it.
func TestPaging(t *testing.T) {
	var run pack.Run
	var parts []pack.Part
	for i := range 250 {
		parts = append(parts, pack.Text(fmt.Sprintf("context/doc-%03d.md", i), strings.Repeat("x", 99)+"\n"))
	}
	run.Add(mediatype.RoleContext, parts...)
	run.Add(mediatype.RoleInput, pack.Text("input/question.txt", "What is the refund window?\n"))
	run.None(mediatype.RoleModel, mediatype.RoleParameters, mediatype.RoleSystemPrompt, mediatype.RoleTools, mediatype.RoleConfig, mediatype.RoleRuntime)
	comp, err := run.Compose(t.Context(), pack.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := newLayout(t)
	if _, err := pack.Push(t.Context(), s, comp, pack.PushOptions{Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
	// The budget holds one page of context and the input, not all 250.
	r, doc := render(t, s, "v1", report.Options{Location: s.location(), PageSize: 100, MaxTotalContent: 100*100 + 100})
	kinds := map[string]int{}
	for _, role := range r.Roles {
		for _, c := range role.Components {
			kinds[role.Name+" "+c.Content.Kind]++
		}
	}
	if kinds["context text"] != 100 || kinds["context listed"] != 150 || kinds["input text"] != 1 {
		t.Fatalf("content kinds %v", kinds)
	}
	page := string(doc)
	for _, want := range []string{"Components 101–200", "Components 201–250", "#249  context/doc-249.md", "What is the refund window?"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

const policyDir = "../../testdata/policies"

// TestPolicy evaluates the example policies in a report as runid-oci verify
// --policy does (pull.Verify with VerifyOptions.Policy): the same decision
// unsigned (a denial), signed with the release key (allowed) and for an
// example that several policies deny; with a key that signed nothing, the
// signature check fails and the policies are not evaluated. The verdict
// names every policy file and every denial.
func TestPolicy(t *testing.T) {
	ctx := t.Context()
	pol, err := policy.Load(ctx, []string{policyDir}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	release, err := sign.LoadPrivateKey(testutil.ReadFile(t, filepath.Join(policyDir, "keys", "release.key")), []byte("runid-oci-example"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sigverify.LoadPublicKeyFile(filepath.Join(policyDir, "keys", "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	s := newLayout(t)
	pushExample(t, s, "rag-agent")
	pushExample(t, s, "minimal")
	if _, err := sign.Sign(ctx, s, "minimal", release, sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ref string
		keys      []report.KeyCheck
		verify    pull.SignatureVerifier
		sign      bool
		allowed   bool
		skipped   bool
	}{
		{name: "unsigned", ref: "rag-agent"},
		{name: "minimal", ref: "minimal", keys: []report.KeyCheck{keyCheck("release.pub", pub)}, verify: sigverify.Verifier{Key: pub}},
		{name: "signed", ref: "rag-agent", sign: true, keys: []report.KeyCheck{keyCheck("release.pub", pub)}, verify: sigverify.Verifier{Key: pub}, allowed: true},
		{name: "other-key", ref: "rag-agent", keys: []report.KeyCheck{keyCheck("other.pub", testutil.Key(t))}, skipped: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sign {
				if _, err := sign.Sign(ctx, s, tc.ref, release, sign.SignOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			r, doc := render(t, s, tc.ref, report.Options{Location: s.location(), Keys: tc.keys, Policy: pol})
			writeArtifact(t, tc.name+".html", doc)
			page := html.UnescapeString(string(doc))
			if !slices.Equal(r.Policies, pol.Files()) {
				t.Errorf("policies %v, want %v", r.Policies, pol.Files())
			}
			for _, f := range pol.Files() {
				if !strings.Contains(page, f) {
					t.Errorf("the report does not name the policy %s", f)
				}
			}
			if tc.skipped {
				if r.Policy != nil || r.PolicySkipped == "" || r.Verified || !strings.Contains(page, "not evaluated") {
					t.Fatalf("policy %+v skipped %q verified %v: want the policies not evaluated", r.Policy, r.PolicySkipped, r.Verified)
				}
				return
			}
			want, err := pull.Verify(ctx, s, tc.ref, pull.VerifyOptions{Policy: pol, Signatures: tc.verify})
			if want == nil {
				t.Fatalf("verify: %v", err)
			}
			if r.Policy == nil || want.Policy == nil {
				t.Fatalf("decision %+v, verify's %+v", r.Policy, want.Policy)
			}
			if r.Policy.Allowed != tc.allowed || want.Policy.Allowed != tc.allowed || r.Verified != tc.allowed || !slices.Equal(r.Policy.Deny, want.Policy.Deny) {
				t.Fatalf("report: allowed %v deny %q verified %v; verify: allowed %v deny %q; want allowed %v",
					r.Policy.Allowed, r.Policy.Deny, r.Verified, want.Policy.Allowed, want.Policy.Deny, tc.allowed)
			}
			var got, wantChecks []pull.Check
			for _, c := range r.Checks {
				if c.Check == "policy" {
					got = append(got, c)
				}
			}
			for _, c := range want.Checks {
				if c.Check == "policy" {
					wantChecks = append(wantChecks, c)
				}
			}
			if !slices.Equal(got, wantChecks) {
				t.Errorf("policy checks %+v, verify's %+v", got, wantChecks)
			}
			t.Logf("denials: %q", r.Policy.Deny)
			if !tc.allowed && len(r.Policy.Deny) == 0 {
				t.Fatal("a denial without a message")
			}
			for _, msg := range r.Policy.Deny {
				if !strings.Contains(page, "<li><bdi>"+msg+"</bdi></li>") {
					t.Errorf("denial %q not listed in the verdict", msg)
				}
			}
			word := map[bool]string{true: "allowed", false: "denied"}[tc.allowed]
			if !strings.Contains(page, `<span class="word">`+word+`</span>`) {
				t.Errorf("the verdict does not say the policies %s", word)
			}
		})
	}
}
