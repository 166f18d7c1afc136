package target

import "testing"

func TestSplitLayoutReference(t *testing.T) {
	tests := []struct{ in, path, ref string }{
		{"./runs", "./runs", ""},
		{"./runs:v1", "./runs", "v1"},
		{"runs@sha256:abc", "runs", "sha256:abc"},
		{"run.tar:tag", "run.tar", "tag"},
		{"/tmp/a:b/c", "/tmp/a:b/c", ""},
		{`C:\runs`, `C:\runs`, ""},
		{`C:\runs:v1`, `C:\runs`, "v1"},
		{"a:b:c", "a:b", "c"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, r := SplitLayoutReference(tc.in)
			if p != tc.path || r != tc.ref {
				t.Fatalf("SplitLayoutReference(%q) = %q, %q; want %q, %q", tc.in, p, r, tc.path, tc.ref)
			}
		})
	}
}
