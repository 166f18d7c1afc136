package main

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/runid/runid-oci/pack/capture"
)

// complete runs cobra's hidden __complete command, as a shell's completion
// script does, and returns the values offered (without descriptions) and
// the directive.
func complete(t *testing.T, words ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	r := mustRun(t, 0, append([]string{cobra.ShellCompRequestCmd}, words...)...)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("__complete %v: no directive line in %q", words, r.stdout)
	}
	d, err := strconv.Atoi(last[1:])
	if err != nil {
		t.Fatalf("__complete %v: directive %q", words, last)
	}
	var values []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, cobra.ShellCompDirective(d)
}

func TestCompletionOfFlagValues(t *testing.T) {
	for _, c := range []struct {
		words []string
		want  []string
	}{
		{[]string{"digest", "--output", ""}, []string{"text", "json"}},
		{[]string{"inspect", "-o", ""}, []string{"text", "json"}},
		{[]string{"pull", "--format", ""}, []string{"text", "json"}},
		{[]string{"verify", "--format", "j"}, []string{"json"}},
		{[]string{"export", "x", "--format", ""}, []string{"cyclonedx", "intoto"}},
		{[]string{"export", "x", "--predicate-type", ""}, []string{"run", "slsa"}},
		{[]string{"attest", "x", "--predicate-type", ""}, []string{"run", "slsa"}},
		{[]string{"attach", "x", "--status", ""}, []string{"succeeded", "failed", "cancelled"}},
		{[]string{"proxy", "--on-store-error", ""}, []string{"fail", "forward"}},
		{[]string{"import", ""}, capture.Formats()},
		{[]string{"import", "openai-"}, []string{"openai-chat", "openai-responses"}},
	} {
		got, dir := complete(t, c.words...)
		if !slices.Equal(got, c.want) || dir != cobra.ShellCompDirectiveNoFileComp {
			t.Errorf("complete %q: %q directive %d, want %q without files", c.words, got, dir, c.want)
		}
	}
	// pull -o is the directory: directories are completed.
	if got, dir := complete(t, "pull", "-o", ""); len(got) != 0 || dir != cobra.ShellCompDirectiveFilterDirs {
		t.Errorf("complete pull -o: %q directive %d, want directories", got, dir)
	}
	// import's second argument is a file.
	if got, dir := complete(t, "import", "openai-chat", ""); len(got) != 0 || dir != cobra.ShellCompDirectiveDefault {
		t.Errorf("complete import FORMAT: %q directive %d, want files", got, dir)
	}
}

// TestCompletionOfLayoutTags: with --oci-layout, TARGET completes to the
// layout's tags (not its referrer or signature tags); without it, or past
// TARGET, to files.
func TestCompletionOfLayoutTags(t *testing.T) {
	priv, _ := newCLIKey(t)
	dir := filepath.Join(t.TempDir(), "runs")
	mustRun(t, 0, "push", "--oci-layout", dir+":v1", exampleDecl("minimal"))
	mustRun(t, 0, "push", "--oci-layout", dir+":v2", exampleDecl("rag-agent"))
	mustRun(t, 0, "push", "--oci-layout", dir+":prod", exampleDecl("minimal"))
	mustRun(t, 0, "sign", "--oci-layout", "--key", priv, dir+":v1") // a sha256-<hex>.sig tag

	for _, c := range []struct {
		words []string
		want  []string
	}{
		{[]string{"pull", "--oci-layout", dir + ":"}, []string{dir + ":prod", dir + ":v1", dir + ":v2"}},
		{[]string{"verify", "--oci-layout", dir + ":v"}, []string{dir + ":v1", dir + ":v2"}},
		{[]string{"inspect", "--oci-layout", dir}, []string{dir + ":prod", dir + ":v1", dir + ":v2"}},
		{[]string{"copy", "--from-oci-layout", dir + ":p"}, []string{dir + ":prod"}},
		{[]string{"copy", "--to-oci-layout", "src", dir + ":v2"}, []string{dir + ":v2"}},
	} {
		got, d := complete(t, c.words...)
		if !slices.Equal(got, c.want) || d != cobra.ShellCompDirectiveNoFileComp {
			t.Errorf("complete %q: %q directive %d, want %q", c.words, got, d, c.want)
		}
	}
	for _, words := range [][]string{
		{"pull", dir + ":"},                              // no --oci-layout: a registry reference
		{"push", "--oci-layout", dir + ":v1", ""},        // DECLARATION is a file
		{"copy", "--to-oci-layout", dir + ":"},           // SOURCE is not a layout
		{"pull", "--oci-layout", filepath.Dir(dir) + ""}, // not a layout: files
	} {
		if got, d := complete(t, words...); len(got) != 0 || d != cobra.ShellCompDirectiveDefault {
			t.Errorf("complete %q: %q directive %d, want files", words, got, d)
		}
	}
}
