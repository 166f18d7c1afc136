package spec

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/runid/runid-oci/mediatype"
)

// MaxNameLength is the longest logical name, in bytes (spec/SPEC.md §4.2).
const MaxNameLength = 255

var extensionRoleRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$`)
})

// IsExtensionRole reports whether r is a well-formed extension role name: a
// reverse-DNS name of at least two labels, such as "com.example.guardrails"
// (spec/SPEC.md §3.2).
func IsExtensionRole(r string) bool {
	return len(r) <= 128 && extensionRoleRE().MatchString(r)
}

// ValidateRole returns nil for a core role or a well-formed extension role,
// and an error wrapping ErrUnknownRole otherwise.
func ValidateRole(r string) error {
	if mediatype.IsCoreRole(r) || IsExtensionRole(r) {
		return nil
	}
	suggest := "com.example." + sanitizeLabel(r)
	if IsExtensionRole(strings.ToLower(r)) {
		suggest = strings.ToLower(r)
	}
	return fmt.Errorf("%w %q: core roles are %s; an extension role is a reverse-DNS name such as %s",
		ErrUnknownRole, r, strings.Join(mediatype.CoreRoles(), ", "), suggest)
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

// ValidateName checks a component's logical name (spec/SPEC.md §4.2): UTF-8
// in Unicode normalization form C, at most MaxNameLength bytes,
// slash-separated segments that are neither empty, "." nor "..", no leading
// slash, none of \ : * ? " < > |, no control or format characters (such as
// bidirectional overrides and zero-width spaces), no line or paragraph
// separators, no segment ending in a dot or space, and no Windows device
// name (see windowsDevice). Character categories are those of Unicode
// 15.0.0, the version of Go's unicode package (unicode.Version).
// A name that passes is safe to join below an extraction directory on any
// common file system.
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
	case strings.ContainsAny(name, `*?"<>|`):
		return bad(`one of * ? " < > | (not allowed in file names on Windows)`)
	}
	for _, r := range name {
		switch {
		case unicode.IsControl(r) || r == utf8.RuneError:
			return bad("control or NUL character")
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
			return bad(fmt.Sprintf("invisible or format character U+%04X", r))
		}
	}
	if !norm.NFC.IsNormalString(name) {
		return bad("not in Unicode normalization form C; normalize it (NFC)")
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
		if windowsDevice(seg) {
			return bad(fmt.Sprintf("segment %q is a Windows device name", seg))
		}
	}
	return nil
}

// windowsDevice reports whether a path segment is a name that Windows
// reserves for a device: CON, PRN, AUX, NUL, CONIN$, CONOUT$, COM and LPT
// followed by a digit 0-9 or a superscript ¹ ² ³, in any letter case,
// alone or before an extension, with or without spaces before the dot
// ("CON .txt", "lpt².log").
func windowsDevice(seg string) bool {
	base, _, _ := strings.Cut(seg, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT") {
		switch base[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// NameConflict finds two items whose names collide as paths: one name is a
// folder of the other ("docs" and "docs/a.md"), letter case ignored. Such
// names cannot both be extracted, so an identity may not hold both
// (spec/SPEC.md §4.2). Exact duplicates are reported elsewhere.
func NameConflict[T any](items []T, name func(T) string) (folder, file T, found bool) {
	byKey := make(map[string]int, len(items))
	for i, it := range items {
		byKey[NameKey(name(it))] = i
	}
	for _, it := range items {
		key := NameKey(name(it))
		for j := strings.IndexByte(key, '/'); j >= 0; {
			if k, ok := byKey[key[:j]]; ok {
				return items[k], it, true
			}
			next := strings.IndexByte(key[j+1:], '/')
			if next < 0 {
				break
			}
			j += next + 1
		}
	}
	return folder, file, false
}

// LocalFilePath reports whether a declaration's file path is relative and
// stays inside the declaration's directory: not absolute, no drive or
// volume, no ".." that climbs out (spec/SPEC.md §4.3).
func LocalFilePath(p string) bool {
	if p == "" || path.IsAbs(p) || strings.HasPrefix(p, `\`) || (len(p) >= 2 && p[1] == ':') {
		return false
	}
	return filepath.IsLocal(filepath.FromSlash(p)) && !strings.HasPrefix(path.Clean(p), "../") && path.Clean(p) != ".."
}

// NameKey is the key under which names must be unique: two names that
// differ only in letter case collide on case-insensitive file systems, so
// they are duplicates (spec/SPEC.md §4.2).
func NameKey(name string) string { return strings.ToLower(name) }
