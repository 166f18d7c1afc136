package spec

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schemas holds the JSON Schemas of spec/schema: declaration.schema.json
// and identity.schema.json (and the later documents of spec/SPEC.md).
//
//go:embed schema/*.json
var Schemas embed.FS

var (
	schemaOnce sync.Once
	schemaErr  error
	schemas    = map[string]*jsonschema.Schema{}
)

func schema(name string) (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		entries, err := Schemas.ReadDir("schema")
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		for _, e := range entries {
			b, err := Schemas.ReadFile("schema/" + e.Name())
			if err != nil {
				schemaErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				schemaErr = fmt.Errorf("schema %s: %w", e.Name(), err)
				return
			}
			if err := c.AddResource("mem:///"+e.Name(), doc); err != nil {
				schemaErr = err
				return
			}
		}
		for _, e := range entries {
			s, err := c.Compile("mem:///" + e.Name())
			if err != nil {
				schemaErr = fmt.Errorf("schema %s: %w", e.Name(), err)
				return
			}
			schemas[e.Name()] = s
		}
	})
	if schemaErr != nil {
		return nil, schemaErr
	}
	s, ok := schemas[name]
	if !ok {
		return nil, fmt.Errorf("no schema %s", name)
	}
	return s, nil
}

// ValidateJSON validates a JSON document against one of the embedded
// schemas by file name, e.g. "identity.schema.json".
func ValidateJSON(schemaName string, data []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	s, err := schema(schemaName)
	if err != nil {
		return err
	}
	return s.Validate(v)
}

func validateDeclarationSchema(root any) error {
	b, err := json.Marshal(root)
	if err != nil {
		return err
	}
	return ValidateJSON("declaration.schema.json", b)
}

// schemaErrorDetail reduces a schema validation error to the deepest
// instance location and its message.
func schemaErrorDetail(err error) (where []string, msg string) {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, err.Error()
	}
	deepest := ve
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.InstanceLocation) > len(deepest.InstanceLocation) {
			deepest = e
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	m := deepest.Error()
	if deepest.ErrorKind != nil {
		m = deepest.ErrorKind.LocalizedString(message.NewPrinter(language.English))
	}
	return deepest.InstanceLocation, m
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
