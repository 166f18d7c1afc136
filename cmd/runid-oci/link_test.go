package main

import (
	"strings"
	"testing"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pull"
	"github.com/runid/runid-oci/spec"
)

func TestLinkCommand(t *testing.T) {
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) {
			id := pushExample(t, st, "minimal", "link-runs", "v1")
			// The produced artifact: any manifest; here another example
			// pushed to another repository.
			art := pushExample(t, st, "rag-agent", "link-images", "agent")
			identityRef := st.ref("link-runs", "v1")
			repo := strings.TrimSuffix(identityRef, ":v1")

			r := mustRun(t, 0, args("link", st.flags, st.ref("link-images", "agent"), "--identity", identityRef, "-o", "json")...)
			res := decodeJSON[linkResult](t, r.stdout)
			if res.ArtifactType != mediatype.Link || res.Subject.Digest != art.Digest() ||
				res.Identity != (spec.LinkedIdentity{Digest: id.Digest(), Repository: repo}) {
				t.Fatalf("link result %+v", res)
			}
			// Linking again is a no-op with the same digest.
			again := mustRun(t, 0, args("link", st.flags, st.ref("link-images", art.Digest().String()), "--identity", st.ref("link-runs", id.Digest().String()))...)
			if strings.TrimSpace(again.stdout) != res.Digest.String() {
				t.Errorf("linking again printed %q, want %s", again.stdout, res.Digest)
			}
			mustRun(t, 0, args("link", st.flags, st.ref("link-images", "agent"), "--identity", identityRef, "--identity-repository", "registry.example/runs")...)

			d := mustRun(t, 0, args("discover", st.flags, st.ref("link-images", "agent"), "-o", "json")...)
			tree := decodeJSON[pull.Tree](t, d.stdout)
			want := []spec.LinkedIdentity{{Digest: id.Digest(), Repository: repo}, {Digest: id.Digest(), Repository: "registry.example/runs"}}
			if len(tree.Identities) != 2 || !containsIdentity(tree.Identities, want[0]) || !containsIdentity(tree.Identities, want[1]) {
				t.Errorf("identities %v, want %v", tree.Identities, want)
			}
			text := mustRun(t, 0, args("discover", st.flags, st.ref("link-images", "agent"))...).stdout
			if !strings.Contains(text, "→ identity "+repo+"@"+id.Digest().String()) || !strings.Contains(text, "Produced by") {
				t.Errorf("discover text:\n%s", text)
			}
		})
	}
}

func containsIdentity(list []spec.LinkedIdentity, id spec.LinkedIdentity) bool {
	for _, l := range list {
		if l == id {
			return true
		}
	}
	return false
}

func TestLinkCommandErrors(t *testing.T) {
	st := stores(t)[0]
	id := pushExample(t, st, "minimal", "lerr-runs", "v1")
	pushExample(t, st, "rag-agent", "lerr-images", "agent")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no identity flag", args("link", st.flags, st.ref("lerr-images", "agent")), exitUsage, "--identity is required"},
		{"identity missing", args("link", st.flags, st.ref("lerr-images", "agent"), "--identity", st.ref("lerr-runs", "sha256:"+strings.Repeat("1", 64))), exitError,
			"--identity " + st.ref("lerr-runs", "sha256:"+strings.Repeat("1", 64)) + ": "},
		{"identity tag missing", args("link", st.flags, st.ref("lerr-images", "agent"), "--identity", st.ref("lerr-runs", "v2")), exitError, "--identity " + st.ref("lerr-runs", "v2") + ": "},
		{"identity without tag", args("link", st.flags, st.ref("lerr-images", "agent"), "--identity", st.ref("lerr-runs", "")), exitUsage, "no tag or digest"},
		{"artifact missing", args("link", st.flags, st.ref("lerr-images", "nope"), "--identity", st.ref("lerr-runs", "v1")), exitError, "ARTIFACT " + st.ref("lerr-images", "nope") + ": "},
		{"self link", args("link", st.flags, st.ref("lerr-runs", "v1"), "--identity", st.ref("lerr-runs", id.Digest().String())), exitError, "invalid link"},
		{"bad repository", args("link", st.flags, st.ref("lerr-images", "agent"), "--identity", st.ref("lerr-runs", "v1"), "--identity-repository", "a b"), exitError, "invalid link"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRun(t, tc.code, tc.args...)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tc.msg)
			}
		})
	}
	tree := decodeJSON[pull.Tree](t, mustRun(t, 0, args("discover", st.flags, st.ref("lerr-images", "agent"), "-o", "json")...).stdout)
	if len(tree.Referrers) != 0 {
		t.Errorf("failed links left %d referrers", len(tree.Referrers))
	}
}
