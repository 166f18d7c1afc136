package spec

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/runid/runid-oci/mediatype"
)

// MaxNameLength is the longest logical name, in bytes (spec/SPEC.md §4.2).
const MaxNameLength = 255

var extensionRoleRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$`)

// IsExtensionRole reports whether r is a well-formed extension role name: a
// reverse-DNS name of at least two labels, such as "com.example.guardrails"
// (spec/SPEC.md §3.2).
func IsExtensionRole(r string) bool {
	return len(r) <= 128 && extensionRoleRE.MatchString(r)
}

// ValidateRole returns nil for a core role or a well-formed extension role,
// and an error wrapping ErrUnknownRole otherwise.
func ValidateRole(r string) error {
	if mediatype.IsCoreRole(r) || IsExtensionRole(r) {
		return nil
	}
	return fmt.Errorf("%w %q: core roles are %s; an extension role is a reverse-DNS name such as com.example.%s",
		ErrUnknownRole, r, strings.Join(mediatype.CoreRoles(), ", "), sanitizeLabel(r))
}

func sanitizeLabel(r string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(r) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "myrole"
	}
	return b.String()
}

// ValidateName checks a component's logical name (spec/SPEC.md §4.2): UTF-8,
// at most MaxNameLength bytes, slash-separated segments that are neither
// empty, "." nor "..", no leading slash, no backslash, no colon (drive
// letters and alternate streams), no control characters. A name that passes
// is safe to join below an extraction directory on any common file system.
func ValidateName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidName, name, why) }
	switch {
	case name == "":
		return bad("empty")
	case len(name) > MaxNameLength:
		return bad(fmt.Sprintf("longer than %d bytes", MaxNameLength))
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	case strings.HasPrefix(name, "/"):
		return bad("absolute path; use a relative name such as docs/a.md")
	case strings.ContainsRune(name, '\\'):
		return bad("backslash; separate segments with /")
	case strings.ContainsRune(name, ':'):
		return bad("colon (drive letters and streams are not allowed)")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return bad("control or NUL character")
		}
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return bad("empty path segment")
		case ".", "..":
			return bad(fmt.Sprintf("%q segment", seg))
		}
		if strings.TrimRight(seg, ". ") != seg {
			return bad("segment ends in a dot or space")
		}
	}
	return nil
}

// NameKey is the key under which names must be unique: two names that
// differ only in letter case collide on case-insensitive file systems, so
// they are duplicates (spec/SPEC.md §4.2).
func NameKey(name string) string { return strings.ToLower(name) }
