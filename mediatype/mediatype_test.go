package mediatype

import "testing"

func TestComponent(t *testing.T) {
	for _, c := range []struct {
		role   Role
		format Format
		want   string
	}{
		{RoleContext, FormatText, "application/vnd.runid.context.v1.text"},
		{RoleModel, FormatJSON, "application/vnd.runid.model.v1+json"},
		{RoleConfig, FormatYAML, "application/vnd.runid.config.v1+yaml"},
		{RoleRuntime, FormatBinary, "application/vnd.runid.runtime.v1.binary"},
		{"x-eval", FormatJSON, "application/vnd.runid.extension.v1+json"},
		{RoleContext, "csv", ""},
	} {
		if got := Component(c.role, c.format); got != c.want {
			t.Errorf("Component(%q, %q) = %q, want %q", c.role, c.format, got, c.want)
		}
	}
	for _, r := range append(CoreRoles(), "x-eval") {
		for _, f := range Formats() {
			role, format, ok := ParseComponent(Component(r, f))
			want := r
			if !IsCoreRole(r) {
				want = extensionRole
			}
			if role != want {
				t.Errorf("ParseComponent(Component(%q, %q)) role %q, want %q", r, f, role, want)
			}
			if !ok || format != f {
				t.Errorf("ParseComponent(Component(%q, %q)) = %q, %v", r, f, format, ok)
			}
		}
	}
}

// TestComponentAllocatesNothing: an identity may have tens of thousands of
// components, and each would otherwise hold its own copy of its media type.
func TestComponentAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = Component(RoleContext, FormatText) }); n != 0 {
		t.Errorf("Component allocates %v times per call, want 0", n)
	}
}
