package pack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/spec"
)

// Part is one component of a Run held in memory: its logical name
// (spec/SPEC.md §4.2), its format and its bytes. Make one with JSON, Text,
// YAML or Binary.
type Part struct {
	// Name is the logical name of the component in the identity.
	Name string
	// Format is one of mediatype.FormatJSON, FormatYAML, FormatText and
	// FormatBinary; the role must allow it (spec/SPEC.md §3.1).
	Format mediatype.Format
	// Data is the component's content: for json a JSON text, whose RFC
	// 8785 canonical form (spec/SPEC.md §4.4) is the component (JSON
	// stores that form already); for the other formats the exact bytes.
	Data []byte
	// Withheld records a salted commitment instead of the content
	// (spec/SPEC.md §7); composing then needs BuildOptions.WithholdSecret.
	Withheld bool

	err error // a problem found when the part was made, reported by Compose
}

// JSON returns a json part holding v encoded with encoding/json and
// canonicalized (RFC 8785). Pass JSON text that is already encoded as a
// json.RawMessage: a plain []byte would be encoded as a base64 string. An
// encoding error is reported by Run.Compose.
func JSON(name string, v any) Part {
	p := Part{Name: name, Format: mediatype.FormatJSON}
	var b []byte
	var err error
	if raw, ok := v.(json.RawMessage); ok {
		// JSON text: canonicalize it as it is (encoding/json would compact
		// it and escape HTML first, which canonicalizing undoes); a text
		// canonical already takes one pass. One that fails is encoded as
		// before, for the same result or error.
		b, err = spec.Canonicalize(raw)
	}
	if b == nil || err != nil {
		b, err = spec.MarshalCanonical(v)
	}
	if err != nil {
		p.err = fmt.Errorf("part %q: %w", name, asInvalidJSON(err))
		return p
	}
	p.Data = b
	return p
}

// asInvalidJSON makes an encoding/json error wrap spec.ErrInvalidJSON.
func asInvalidJSON(err error) error {
	if errors.Is(err, spec.ErrInvalidJSON) {
		return err
	}
	return fmt.Errorf("%w: %v", spec.ErrInvalidJSON, err)
}

// Text returns a text part holding s byte for byte; s must be valid UTF-8.
func Text(name, s string) Part {
	return Part{Name: name, Format: mediatype.FormatText, Data: []byte(s)}
}

// YAML returns a yaml part holding data byte for byte; it must be
// well-formed YAML. The slice is not copied: do not change it afterwards.
func YAML(name string, data []byte) Part {
	return Part{Name: name, Format: mediatype.FormatYAML, Data: data}
}

// Binary returns a binary part holding data byte for byte. The slice is not
// copied: do not change it afterwards.
func Binary(name string, data []byte) Part {
	return Part{Name: name, Format: mediatype.FormatBinary, Data: data}
}

// Withhold returns p marked withheld (see Part.Withheld).
func (p Part) Withhold() Part {
	p.Withheld = true
	return p
}

// Run is a run's composition declared in memory, the equivalent of a
// runid.yaml and its component files. A harness fills it before calling the
// model, composes it and pushes the composition:
//
//	var run pack.Run
//	run.Add(mediatype.RoleModel, pack.JSON("model.json", model))
//	run.Add(mediatype.RoleSystemPrompt, pack.Text("system-prompt/system.md", prompt))
//	run.None(mediatype.RoleTools, mediatype.RoleContext)
//	...
//	comp, err := run.Compose(ctx, pack.BuildOptions{})
//	res, err := pack.Push(ctx, target, comp, pack.PushOptions{})
//
// As in a declaration file, every core role must be accounted for, either
// with parts (Add) or explicitly as none (None); parts keep the order in
// which they are added; extension roles are reverse-DNS names
// (spec/SPEC.md §3.2). Compose builds the run's declaration in memory,
// checks it with spec.CheckDeclaration (the rules spec.ParseDeclaration
// applies to a file) and builds it as Build does, so a Run and the
// equivalent declaration files (see WriteDir) have the same identity
// digest.
//
// The zero value is an empty run, ready to use. A Run is not safe for
// concurrent use.
type Run struct {
	parts map[string][]Part
	none  map[string]bool
	order []string // roles in the order first mentioned, for messages
}

// Add appends parts to role. Adding no parts leaves the role as it was.
func (r *Run) Add(role string, parts ...Part) *Run {
	if len(parts) == 0 {
		return r
	}
	if r.parts == nil {
		r.parts = map[string][]Part{}
	}
	r.mention(role)
	r.parts[role] = append(r.parts[role], parts...)
	return r
}

// None declares that the run had nothing of each given role
// (spec/SPEC.md §3.3), for example no tools: None(mediatype.RoleTools).
func (r *Run) None(roles ...string) *Run {
	if r.none == nil {
		r.none = map[string]bool{}
	}
	for _, role := range roles {
		r.mention(role)
		r.none[role] = true
	}
	return r
}

func (r *Run) mention(role string) {
	if !slices.Contains(r.order, role) {
		r.order = append(r.order, role)
	}
}

// Roles returns every role declared so far, in canonical order
// (spec/SPEC.md §5.5).
func (r *Run) Roles() []string {
	out := slices.Clone(r.order)
	sort.SliceStable(out, func(i, j int) bool { return spec.RoleOrderLess(out[i], out[j]) })
	return out
}

// Parts returns the parts of role in order, and whether the role was
// declared none. The parts are shared with the run: do not change them.
func (r *Run) Parts(role string) (parts []Part, none bool) {
	return r.parts[role], r.none[role]
}

// Compose checks the run and builds its composition, exactly as Build does
// for the equivalent declaration files. A core role that is neither added
// nor declared none fails with spec.ErrMissingRole; other problems wrap the
// sentinel that spec.ParseDeclaration or Build would give for the same
// declaration (spec.ErrInvalidName, spec.ErrDuplicateName,
// spec.ErrInvalidFormat, spec.ErrInvalidJSON, spec.ErrUnknownRole,
// ErrComponentTooLarge, ErrNoWithholdSecret...). The composition's
// components keep their bytes in memory; their Source is "inline".
func (r *Run) Compose(ctx context.Context, opts BuildOptions) (*Composition, error) {
	d, err := r.declaration()
	if err != nil {
		return nil, err
	}
	// The declaration's components are files; give Build their bytes as
	// inline JSON and text, and the rest as files in memory.
	opts = opts.withDefaults()
	decl := d.decl
	mem := map[string][]byte{}
	for i := range decl.Roles {
		for j := range decl.Roles[i].Components {
			c := &decl.Roles[i].Components[j]
			data := d.files[c.File]
			switch c.Format {
			case mediatype.FormatJSON:
				if int64(len(data)) > opts.MaxStructuredSize {
					return nil, fmt.Errorf("component %q at %s: %w: over %d bytes, the limit for json and yaml components", c.Name, c.Field, ErrComponentTooLarge, opts.MaxStructuredSize)
				}
				canon, err := spec.Canonicalize(data)
				if err != nil {
					return nil, fmt.Errorf("component %q at %s: %w", c.Name, c.Field, err)
				}
				c.Inline, c.File = canon, ""
			case mediatype.FormatText:
				s := string(data)
				c.Text, c.File = &s, ""
			default:
				mem[c.File] = data
			}
		}
	}
	comp, err := build(ctx, decl, "", mem, opts)
	if err != nil {
		return nil, err
	}
	for i := range comp.Components {
		comp.Components[i].Source = "inline"
	}
	return comp, nil
}

// runDeclarationFile names a Run in error messages.
const runDeclarationFile = "pack.Run"

// runDecl is a Run as a declaration whose components are all files: the
// declaration, checked, and the bytes of each file by path.
type runDecl struct {
	decl  *spec.Declaration
	files map[string][]byte
	// paths are the file paths in declaration order, with their part.
	paths []string
	parts []Part
}

// DeclarationFile is the name WriteDir gives the declaration.
const DeclarationFile = "runid.yaml"

// componentsDir holds the component files when a logical name would clash
// with DeclarationFile.
const componentsDir = "components"

// declaration checks the run and returns it as a declaration whose
// components are all files, the declaration that WriteDir writes. Besides
// spec.CheckDeclaration, which applies the rules spec.ParseDeclaration
// applies to a declaration file, it checks what a file cannot express:
// parts made with errors, roles both added and declared none, formats that
// are not formats.
func (r *Run) declaration() (*runDecl, error) {
	for _, role := range r.order {
		if r.none[role] && len(r.parts[role]) > 0 {
			return nil, &spec.FieldError{File: runDeclarationFile, Field: "roles." + role, Err: spec.ErrInvalidDeclaration,
				Msg: fmt.Sprintf("role %q has %d part(s) and is also declared none; a role is one or the other", role, len(r.parts[role]))}
		}
	}
	for _, role := range mediatype.CoreRoles() {
		if !slices.Contains(r.order, role) {
			return nil, &spec.FieldError{File: runDeclarationFile, Field: "roles." + role, Err: spec.ErrMissingRole,
				Msg: fmt.Sprintf("core role %q is not accounted for; every core role must be: add its parts with Add(%q, ...), or, if this run had no %s, declare it explicitly with None(%q)",
					role, role, role, role)}
		}
	}
	prefix := ""
	for _, role := range r.order {
		for _, p := range r.parts[role] {
			if k := spec.NameKey(p.Name); k == DeclarationFile || strings.HasPrefix(k, DeclarationFile+"/") {
				prefix = componentsDir + "/"
			}
		}
	}
	roles := r.Roles()
	d := &runDecl{decl: &spec.Declaration{Roles: make([]spec.RoleDeclaration, 0, len(roles))}, files: map[string][]byte{}}
	for _, role := range roles {
		rd := spec.RoleDeclaration{Role: role, None: r.none[role]}
		for i, p := range r.parts[role] {
			field := fmt.Sprintf("roles.%s[%d]", role, i)
			if p.err != nil {
				return nil, fmt.Errorf("%s: %w", field, p.err)
			}
			if !slices.Contains(mediatype.Formats(), p.Format) {
				return nil, &spec.FieldError{File: runDeclarationFile, Field: field + ".format", Err: spec.ErrInvalidFormat,
					Msg: fmt.Sprintf("format %q; a part has format %s (make it with JSON, YAML, Text or Binary)", p.Format, strings.Join(mediatype.Formats(), ", "))}
			}
			// A valid name is a local path; CheckDeclaration checks both.
			path := prefix + p.Name
			if _, dup := d.files[path]; !dup {
				d.files[path] = p.Data
			}
			d.paths = append(d.paths, path)
			d.parts = append(d.parts, p)
			rd.Components = append(rd.Components, spec.ComponentDeclaration{
				Role: role, Name: p.Name, Format: p.Format, File: path, Withheld: p.Withheld, Field: field,
			})
		}
		d.decl.Roles = append(d.decl.Roles, rd)
	}
	if err := spec.CheckDeclaration(runDeclarationFile, d.decl); err != nil {
		return nil, err
	}
	return d, nil
}
