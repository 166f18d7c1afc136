package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/runid/runid-oci/mediatype"
)

func TestVersion(t *testing.T) {
	tests := []struct {
		name    string
		ldflags string // value of main.version
		want    string
	}{
		{"build info", "", "devel"},
		{"ldflags", "v1.2.3", "v1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := version
			version = tt.ldflags
			t.Cleanup(func() { version = old })

			text := mustRun(t, 0, "version").stdout
			for _, s := range []string{"runid-oci " + tt.want, runtime.Version(), "spec: " + mediatype.SpecVersion} {
				if !strings.Contains(text, s) {
					t.Errorf("text output lacks %q:\n%s", s, text)
				}
			}
			j := decodeJSON[versionInfo](t, mustRun(t, 0, "version", "-o", "json").stdout)
			want := versionInfo{Version: tt.want, GoVersion: runtime.Version(), SpecVersion: mediatype.SpecVersion}
			if j != want {
				t.Errorf("json %+v, want %+v", j, want)
			}
		})
	}
}
