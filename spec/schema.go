package spec

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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

// compiledSchema is one embedded schema, compiled on its first use.
type compiledSchema struct {
	once sync.Once
	s    *jsonschema.Schema
	err  error
}

// compiled holds a compiledSchema per file name of Schemas.
var compiled sync.Map // string → *compiledSchema

// schema returns the embedded schema of that file name, compiled the first
// time it is asked for. Each is compiled on its own (none refers to
// another): a command that reads identities compiles the identity schema
// only, not every document's. Compiling one means validating it against its
// meta-schema and compiling its patterns, about as long as reading a small
// identity.
func schema(name string) (*jsonschema.Schema, error) {
	if _, err := fs.Stat(Schemas, "schema/"+name); err != nil {
		return nil, fmt.Errorf("no schema %s", name)
	}
	v, _ := compiled.LoadOrStore(name, &compiledSchema{})
	cs := v.(*compiledSchema)
	cs.once.Do(func() { cs.s, cs.err = compileSchema(name) })
	return cs.s, cs.err
}

func compileSchema(name string) (*jsonschema.Schema, error) {
	b, err := Schemas.ReadFile("schema/" + name)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem:///"+name, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	s, err := c.Compile("mem:///" + name)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
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
