package policy

import (
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// value builds the OPA value of the input directly: the same document as
// its JSON encoding (TestValueMatchesJSON holds them equal), without
// encoding and decoding it for every evaluation.
func (in *Input) value() (ast.Value, error) {
	roles := make([][2]*ast.Term, 0, len(in.Identity.Roles))
	for name, r := range in.Identity.Roles {
		comps := make([]*ast.Term, 0, len(r.Components))
		for _, c := range r.Components {
			t, err := c.term()
			if err != nil {
				return nil, fmt.Errorf("component %q: %w", c.Name, err)
			}
			comps = append(comps, t)
		}
		roles = append(roles, item(name, ast.NewTerm(ast.NewObject(
			item("state", ast.StringTerm(r.State)),
			item("components", ast.ArrayTerm(comps...)),
		))))
	}
	id := []([2]*ast.Term){
		item("digest", ast.StringTerm(in.Identity.Digest.String())),
		item("specVersion", ast.StringTerm(in.Identity.SpecVersion)),
		item("roles", ast.NewTerm(ast.NewObject(roles...))),
	}
	if in.Identity.Reference != "" {
		id = append(id, item("reference", ast.StringTerm(in.Identity.Reference)))
	}
	sigs := make([]*ast.Term, 0, len(in.Signatures))
	for _, s := range in.Signatures {
		sig := []([2]*ast.Term){
			item("keyId", ast.StringTerm(s.KeyID)),
			item("format", ast.StringTerm(s.Format)),
			item("signed", ast.StringTerm(s.Signed)),
			item("digest", ast.StringTerm(s.Digest.String())),
		}
		if s.CertificateIdentity != "" {
			sig = append(sig, item("certificateIdentity", ast.StringTerm(s.CertificateIdentity)))
		}
		if s.CertificateIssuer != "" {
			sig = append(sig, item("certificateIssuer", ast.StringTerm(s.CertificateIssuer)))
		}
		sigs = append(sigs, ast.NewTerm(ast.NewObject(sig...)))
	}
	top := []([2]*ast.Term){
		item("version", ast.StringTerm(in.Version)),
		item("kind", ast.StringTerm(in.Kind)),
		item("identity", ast.NewTerm(ast.NewObject(id...))),
		item("signatures", ast.ArrayTerm(sigs...)),
	}
	if in.Output != nil {
		// An output record is rare on the hot path (the proxy decides on
		// identities); its open execution map goes through JSON.
		b, err := json.Marshal(in.Output)
		if err != nil {
			return nil, err
		}
		v, err := ast.ValueFromReader(bytesReader(b))
		if err != nil {
			return nil, err
		}
		top = append(top, item("output", ast.NewTerm(v)))
	}
	return ast.NewObject(top...), nil
}

func (c Component) term() (*ast.Term, error) {
	kv := []([2]*ast.Term){
		item("role", ast.StringTerm(c.Role)),
		item("name", ast.StringTerm(c.Name)),
		item("mediaType", ast.StringTerm(c.MediaType)),
		item("digest", ast.StringTerm(c.Digest.String())),
		item("size", ast.IntNumberTerm(int(c.Size))),
		item("withheld", ast.BooleanTerm(c.Withheld)),
	}
	if c.Format != "" {
		kv = append(kv, item("format", ast.StringTerm(c.Format)))
	}
	if c.ContentOmitted != "" {
		kv = append(kv, item("contentOmitted", ast.StringTerm(c.ContentOmitted)))
	}
	if c.Content != nil {
		v, err := contentValue(c.Content)
		if err != nil {
			return nil, err
		}
		kv = append(kv, item("content", ast.NewTerm(v)))
	}
	return ast.NewTerm(ast.NewObject(kv...)), nil
}

// contentValue converts parsed content (map[string]any, []any, string,
// json.Number, bool, nil, or json.RawMessage("null")) to an OPA value.
func contentValue(v any) (ast.Value, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return ast.ValueFromReader(bytesReader(raw))
	}
	return ast.InterfaceToValue(v)
}

func item(k string, v *ast.Term) [2]*ast.Term { return [2]*ast.Term{ast.StringTerm(k), v} }
