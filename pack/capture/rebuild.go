package capture

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack"
	"github.com/runid/runid-oci/spec"
)

// RebuildOptions configure Rebuild. The zero value is valid.
type RebuildOptions struct {
	// MaxComponentSize caps each component read. Default:
	// pack.DefaultMaxStructuredSize.
	MaxComponentSize int64
}

// Rebuild rebuilds the request body from a composition that Import made,
// in memory or loaded with pack.Load from the files that ImportDir wrote.
// The body is RFC 8785 canonical JSON, equal as JSON to the request
// imported (without the credentials Import dropped). A composition whose
// runtime has no record of this importer, or whose components do not fit
// the mapping, fails with ErrNotImported. Extension roles and other
// runtime components are ignored: they are not part of the request.
func Rebuild(ctx context.Context, c *pack.Composition, opts RebuildOptions) ([]byte, error) {
	if opts.MaxComponentSize <= 0 {
		opts.MaxComponentSize = pack.DefaultMaxStructuredSize
	}
	byRole := map[string][]part{}
	for _, comp := range c.Components {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !mediatype.IsCoreRole(comp.Role) {
			continue
		}
		_, format, ok := mediatype.ParseComponent(comp.MediaType)
		if !ok {
			return nil, fmt.Errorf("%w: component %q has media type %s (withheld?); a request cannot be rebuilt without it",
				ErrNotImported, comp.Name, comp.MediaType)
		}
		data, err := readComponent(comp, opts.MaxComponentSize)
		if err != nil {
			return nil, err
		}
		byRole[comp.Role] = append(byRole[comp.Role], part{role: comp.Role, name: comp.Name, format: format, data: data})
	}
	f, err := importedFormat(byRole[mediatype.RoleRuntime])
	if err != nil {
		return nil, err
	}

	out := fields{}
	merge := func(role, name string) error {
		for _, p := range byRole[role] {
			obj, ok := asObject(p.data)
			if p.name != name || p.format != mediatype.FormatJSON || !ok {
				return fmt.Errorf("%w: %s component %q; an imported request has one, %s, a JSON object", ErrNotImported, role, p.name, name)
			}
			for k, v := range obj {
				if err := set(out, k, v); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := merge(mediatype.RoleConfig, ConfigName); err != nil {
		return nil, err
	}
	if err := merge(mediatype.RoleParameters, ParametersName); err != nil {
		return nil, err
	}
	for _, p := range byRole[mediatype.RoleModel] {
		m, ok := asObject(p.data)
		if p.name != ModelName || p.format != mediatype.FormatJSON || !ok {
			return nil, fmt.Errorf("%w: model component %q; an imported request has one, %s, a JSON object", ErrNotImported, p.name, ModelName)
		}
		if name, ok := m["name"]; ok {
			if err := set(out, "model", name); err != nil {
				return nil, err
			}
		}
	}
	tools := map[string][]json.RawMessage{}
	for _, p := range byRole[mediatype.RoleTools] {
		field := ""
		for _, tf := range f.tools {
			// Only names directly in the folder: tools/functions/x.json is not in tools/.
			if strings.HasPrefix(p.name, tf.dir) && !strings.Contains(p.name[len(tf.dir):], "/") {
				field = tf.field
			}
		}
		if field == "" || p.format != mediatype.FormatJSON {
			return nil, fmt.Errorf("%w: tools component %q does not fit the %s mapping", ErrNotImported, p.name, f.name)
		}
		tools[field] = append(tools[field], p.data)
	}
	for _, tf := range f.tools {
		if list, ok := tools[tf.field]; ok {
			if err := set(out, tf.field, joinArray(list)); err != nil {
				return nil, err
			}
		}
	}
	if n := len(byRole[mediatype.RoleContext]); n > 0 {
		return nil, fmt.Errorf("%w: %d context components; a request has no context apart from its input", ErrNotImported, n)
	}
	if err := f.join(byRole[mediatype.RoleSystemPrompt], byRole[mediatype.RoleInput], out); err != nil {
		return nil, err
	}
	return canonicalObject(out)
}

// canonicalObject writes out as a JSON object, its members sorted by name
// and its values as they are, and canonicalizes that: one checking pass
// when the values are canonical, as they are when they come from json
// components, and the names sort the same in UTF-8 and UTF-16.
func canonicalObject(out fields) ([]byte, error) {
	keys := slices.Sorted(maps.Keys(out))
	n := 2
	for _, k := range keys {
		n += len(k) + len(out[k]) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, mustJSON(k)...)
		b = append(b, ':')
		b = append(b, out[k]...)
	}
	return spec.Canonicalize(append(b, '}'))
}

// importedFormat finds the importer's record among the runtime components.
func importedFormat(runtime []part) (format, error) {
	for _, p := range runtime {
		var rec struct {
			Importer string `json:"importer"`
			Mapping  string `json:"mapping"`
			Format   string `json:"format"`
		}
		if p.name != RuntimeName || p.format != mediatype.FormatJSON || json.Unmarshal(p.data, &rec) != nil || rec.Importer != ImporterName {
			continue
		}
		f, ok := formats[rec.Format]
		if !ok {
			return format{}, fmt.Errorf("%w: the runtime records format %q; this importer knows %s", ErrNotImported, rec.Format, strings.Join(Formats(), ", "))
		}
		if rec.Mapping != MappingVersion {
			return format{}, fmt.Errorf("%w: the runtime records mapping %q; this importer rebuilds mapping %s", ErrNotImported, rec.Mapping, MappingVersion)
		}
		return f, nil
	}
	return format{}, fmt.Errorf("%w: no runtime component %s with {\"importer\": %q}", ErrNotImported, RuntimeName, ImporterName)
}

// readComponent reads a component of the size it was built with into one
// buffer of that size (io.ReadAll grows its buffer, copying, as it reads).
func readComponent(c pack.Component, limit int64) ([]byte, error) {
	if c.Size > limit {
		return nil, fmt.Errorf("read component %q: %w: over %d bytes", c.Name, pack.ErrComponentTooLarge, limit)
	}
	rc, err := c.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data := make([]byte, c.Size)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, fmt.Errorf("read component %q: %w", c.Name, err)
	}
	// The end: a file-backed component's reader reports a file changed
	// since it was hashed here at the latest.
	var one [1]byte
	if n, err := rc.Read(one[:]); n > 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = fmt.Errorf("%w: longer than %d bytes", pack.ErrComponentChanged, c.Size)
		}
		return nil, fmt.Errorf("read component %q: %w", c.Name, err)
	}
	return data, nil
}
