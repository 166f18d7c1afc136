package spec

import (
	"errors"
	"fmt"
)

// Sentinel errors of the format rules. Errors returned by this package wrap
// one of them; test with errors.Is.
var (
	// ErrInvalidDeclaration: a declaration does not follow spec/SPEC.md §4.
	ErrInvalidDeclaration = errors.New("invalid declaration")
	// ErrDeclarationTooLarge: a declaration is over MaxDeclarationSize.
	ErrDeclarationTooLarge = errors.New("declaration too large")
	// ErrMissingRole: a core role is not accounted for.
	ErrMissingRole = errors.New("core role not accounted for")
	// ErrUnknownRole: a role is neither a core role nor a reverse-DNS extension role.
	ErrUnknownRole = errors.New("unknown role")
	// ErrInvalidName: a logical name breaks the rules of spec/SPEC.md §4.2.
	ErrInvalidName = errors.New("invalid component name")
	// ErrDuplicateName: two components share one logical name.
	ErrDuplicateName = errors.New("duplicate component name")
	// ErrInvalidJSON: a structured component is not valid JSON.
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrInvalidFormat: a component's format does not fit its role or its bytes.
	ErrInvalidFormat = errors.New("invalid component format")
	// ErrInvalidIdentity: an identity manifest or document breaks spec/SPEC.md §5.
	ErrInvalidIdentity = errors.New("invalid identity")
	// ErrUnsupportedVersion: a spec version this reader does not implement.
	ErrUnsupportedVersion = errors.New("unsupported spec version")
)

// FieldError locates a problem in a declaration file: the file, the field
// (a path such as roles.tools[1].file), the line where the parser gives it,
// and what is wrong. It wraps a sentinel of this package.
type FieldError struct {
	File  string // declaration file name as given; may be empty
	Field string // dotted path of the field; may be empty for whole-file problems
	Line  int    // 1-based line, 0 when unknown
	// Column is the 1-based column of Line, in characters, when the
	// problem is one character (an invalid byte counts as one); 0 when
	// unknown.
	Column int
	Msg    string // what is wrong and what would be valid
	Err    error  // sentinel
}

func (e *FieldError) Error() string {
	loc := e.File
	if loc == "" {
		loc = "declaration"
	}
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
		if e.Column > 0 {
			loc = fmt.Sprintf("%s:%d", loc, e.Column)
		}
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

// Problem is one failed check of an identity (spec/SPEC.md §6). Check is a
// stable identifier (for example "role-accounted"), Subject names what it
// concerns (a role, a component name, a digest) and Msg says what is wrong.
type Problem struct {
	Check   string `json:"check"`
	Subject string `json:"subject,omitempty"`
	Msg     string `json:"message"`
}

func (p Problem) String() string {
	if p.Subject != "" {
		return fmt.Sprintf("%s: %s: %s", p.Check, p.Subject, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.Check, p.Msg)
}

// IdentityError lists every problem found in an identity. It wraps
// ErrInvalidIdentity (or ErrUnsupportedVersion when that is the only cause).
type IdentityError struct {
	Problems []Problem
	Err      error
}

func (e *IdentityError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("%v: %s", e.Err, e.Problems[0])
	}
	return fmt.Sprintf("%v: %d problems, first: %s", e.Err, len(e.Problems), e.Problems[0])
}

// Unwrap returns the sentinel.
func (e *IdentityError) Unwrap() error { return e.Err }

// Sentinels of output records and links (spec/SPEC.md §8).
var (
	// ErrInvalidOutput: an output record or output document breaks spec/SPEC.md §8.1.
	ErrInvalidOutput = errors.New("invalid output record")
	// ErrInvalidLink: a link manifest or link document breaks spec/SPEC.md §8.2.
	ErrInvalidLink = errors.New("invalid link")
)

// RecordError lists every problem found in an output record or a link
// (spec/SPEC.md §8). It wraps ErrInvalidOutput or ErrInvalidLink (or
// ErrUnsupportedVersion when an unsupported spec version is the cause).
type RecordError struct {
	Problems []Problem
	Err      error
}

func (e *RecordError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("%v: %s", e.Err, e.Problems[0])
	}
	return fmt.Sprintf("%v: %d problems, first: %s", e.Err, len(e.Problems), e.Problems[0])
}

// Unwrap returns the sentinel.
func (e *RecordError) Unwrap() error { return e.Err }
