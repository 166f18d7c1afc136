package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Query is what a policy set is asked: the set of denial messages of the
// package runid. An empty set means allowed.
const Query = "data.runid.deny"

// DefaultTimeout bounds one evaluation: 1 second. A policy still running
// then is stopped, and its decision is a denial.
const DefaultTimeout = time.Second

// MaxPolicySize caps one policy file: 1 MiB.
const MaxPolicySize = 1 << 20

// Sentinel errors.
var (
	// ErrCompile: a policy does not parse or compile. The error is a
	// *CompileError naming file, line and message.
	ErrCompile = errors.New("policy does not compile")
	// ErrNoPolicy: no .rego file was found, or none defines data.runid.deny.
	ErrNoPolicy = errors.New("no policy")
	// ErrDenied: a policy denied the subject, or could not be evaluated
	// (fail closed). The error is a *DenyError.
	ErrDenied = errors.New("denied by policy")
	// ErrEvaluation: a policy could not be evaluated: a runtime error, a
	// result that is not a set of messages, or the time bound.
	ErrEvaluation = errors.New("policy evaluation failed")
)

// unsafeBuiltins are the built-ins a policy may not call: they reach the
// network or the process environment (which holds credentials), and a
// decision must depend on the input alone.
var unsafeBuiltins = map[string]struct{}{
	"http.send":          {},
	"net.lookup_ip_addr": {},
	"opa.runtime":        {},
}

// Options configure Load and Compile. The zero value is valid.
type Options struct {
	// Timeout bounds each evaluation. Default: DefaultTimeout.
	Timeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Module is one policy source.
type Module struct {
	// File names the source in errors and in Decision.Policies.
	File string
	// Source is the Rego v1 text.
	Source []byte
}

// Policy is a compiled set of policies, safe for concurrent use. It is
// compiled once (Load, Compile) and evaluated any number of times.
type Policy struct {
	query   rego.PreparedEvalQuery
	files   []string
	timeout time.Duration
}

// Files lists the policy files, in the order given.
func (p *Policy) Files() []string { return slices.Clone(p.files) }

// CompileProblem is one parse or compile error of a policy.
type CompileProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (p CompileProblem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// CompileError lists every problem found compiling a policy set. It wraps
// ErrCompile.
type CompileError struct {
	Problems []CompileProblem
}

func (e *CompileError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return ErrCompile.Error() + ": " + strings.Join(lines, "; ")
}

func (e *CompileError) Unwrap() error { return ErrCompile }

// Load reads and compiles the policies at paths: each a .rego file, or a
// directory whose .rego files (recursively, in lexical order) are read.
// Files ending in _test.rego are unit tests for "opa test" and are
// skipped in a directory. Every module must be Rego v1; together they
// must define data.runid.deny.
func Load(ctx context.Context, paths []string, opts Options) (*Policy, error) {
	var mods []Module
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", p, err)
		}
		if !fi.IsDir() {
			m, err := readModule(p)
			if err != nil {
				return nil, err
			}
			mods = append(mods, m)
			continue
		}
		var found int
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(d.Name(), ".rego") || strings.HasSuffix(d.Name(), "_test.rego") {
				return nil
			}
			m, err := readModule(path)
			if err != nil {
				return err
			}
			mods = append(mods, m)
			found++
			return nil
		})
		if err != nil {
			return nil, err
		}
		if found == 0 {
			return nil, fmt.Errorf("%w: directory %s holds no .rego file", ErrNoPolicy, p)
		}
	}
	return Compile(ctx, mods, opts)
}

// readModule reads one policy file: a regular file of at most
// MaxPolicySize bytes.
func readModule(path string) (Module, error) {
	f, err := os.Open(path)
	if err != nil {
		return Module{}, fmt.Errorf("policy %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return Module{}, fmt.Errorf("policy %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return Module{}, fmt.Errorf("policy %s: not a regular file", path)
	case fi.Size() > MaxPolicySize:
		return Module{}, fmt.Errorf("policy %s: %d bytes, the cap is %d", path, fi.Size(), MaxPolicySize)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return Module{}, fmt.Errorf("policy %s: %w", path, err)
	}
	if buf.Len() > MaxPolicySize {
		return Module{}, fmt.Errorf("policy %s: over %d bytes", path, MaxPolicySize)
	}
	return Module{File: path, Source: buf.Bytes()}, nil
}

// Compile parses and compiles modules (Rego v1) into a Policy. Parse and
// compile errors are returned together in a *CompileError naming each
// file and line. The network and environment built-ins (http.send,
// net.lookup_ip_addr, opa.runtime) are refused at compile time.
func Compile(ctx context.Context, modules []Module, opts Options) (*Policy, error) {
	o := opts.withDefaults()
	if len(modules) == 0 {
		return nil, fmt.Errorf("%w: no policy file given", ErrNoPolicy)
	}
	var probs []CompileProblem
	parsed := make([]*ast.Module, 0, len(modules))
	files := make([]string, 0, len(modules))
	definesDeny := false
	for _, m := range modules {
		mod, err := ast.ParseModuleWithOpts(m.File, string(m.Source), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			probs = append(probs, problems(m.File, err)...)
			continue
		}
		if mod == nil {
			probs = append(probs, CompileProblem{File: m.File, Message: "empty policy"})
			continue
		}
		if mod.Package.Path.String() == "data.runid" {
			for _, r := range mod.Rules {
				if r.Head.Name.String() == "deny" || r.Head.Ref().String() == "deny" {
					definesDeny = true
				}
			}
		}
		parsed = append(parsed, mod)
		files = append(files, m.File)
	}
	if len(probs) > 0 {
		return nil, &CompileError{Problems: probs}
	}
	if !definesDeny {
		return nil, fmt.Errorf("%w: no module in package runid defines deny (policies must add messages to data.runid.deny)", ErrNoPolicy)
	}
	args := []func(*rego.Rego){
		rego.Query(Query),
		rego.SetRegoVersion(ast.RegoV1),
		rego.UnsafeBuiltins(unsafeBuiltins),
		rego.StrictBuiltinErrors(true),
	}
	for _, m := range parsed {
		args = append(args, rego.ParsedModule(m))
	}
	pq, err := rego.New(args...).PrepareForEval(ctx)
	if err != nil {
		return nil, &CompileError{Problems: problems("", err)}
	}
	return &Policy{query: pq, files: files, timeout: o.Timeout}, nil
}

// problems turns an OPA error into compile problems with file and line.
func problems(file string, err error) []CompileProblem {
	var errs ast.Errors
	if errors.As(err, &errs) {
		out := make([]CompileProblem, 0, len(errs))
		for _, e := range errs {
			p := CompileProblem{File: file, Message: e.Message}
			if e.Location != nil {
				if e.Location.File != "" {
					p.File = e.Location.File
				}
				p.Line, p.Column = e.Location.Row, e.Location.Col
			}
			out = append(out, p)
		}
		return out
	}
	var one *ast.Error
	if errors.As(err, &one) {
		return problems(file, ast.Errors{one})
	}
	return []CompileProblem{{File: file, Message: err.Error()}}
}

// Decision is the outcome of one evaluation.
type Decision struct {
	// Allowed is true when no policy denied and the evaluation succeeded.
	Allowed bool `json:"allowed"`
	// Deny lists the denial messages, sorted; for an evaluation error, one
	// message saying the subject is denied because the policy could not
	// be evaluated.
	Deny []string `json:"deny"`
	// Error is the evaluation error, when there was one (the decision is
	// then a denial: fail closed).
	Error string `json:"error,omitempty"`
	// Policies lists the policy files evaluated.
	Policies []string `json:"policies"`
	// Duration is how long the evaluation took.
	Duration time.Duration `json:"-"`

	evalErr error
}

// Err returns nil when the decision allows, and a *DenyError otherwise.
func (d *Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &DenyError{Messages: d.Deny, Cause: d.evalErr}
}

// DenyError is a denial: the policy messages, or the evaluation error that
// made the decision a denial. It matches ErrDenied with errors.Is, and
// also ErrEvaluation when Cause is set.
type DenyError struct {
	Messages []string
	Cause    error
}

func (e *DenyError) Error() string {
	return ErrDenied.Error() + ": " + strings.Join(e.Messages, "; ")
}

func (e *DenyError) Is(target error) bool { return target == ErrDenied }

func (e *DenyError) Unwrap() error { return e.Cause }

// Evaluate evaluates data.runid.deny with in as input, within the
// policy's time bound. It never returns nil and never allows on failure:
// a runtime error in a policy (with strict built-in errors), a deny that
// is not a set or array, a time-out or a cancelled ctx give a denial whose
// Error says why.
func (p *Policy) Evaluate(ctx context.Context, in *Input) *Decision {
	start := time.Now()
	d := &Decision{Deny: []string{}, Policies: slices.Clone(p.files)}
	fail := func(err error) *Decision {
		d.Allowed = false
		d.evalErr = fmt.Errorf("%w: %w", ErrEvaluation, err)
		d.Error = d.evalErr.Error()
		d.Deny = []string{"denied: the policy could not be evaluated (" + err.Error() + ")"}
		d.Duration = time.Since(start)
		return d
	}
	if in == nil {
		return fail(errors.New("no input"))
	}
	value, err := in.value()
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	rs, err := p.query.Eval(ctx, rego.EvalParsedInput(value))
	// A context that ended during the evaluation fails it even when OPA
	// finished first: the caller no longer waits for a decision.
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fail(fmt.Errorf("stopped after the time bound of %s", p.timeout))
	case ctx.Err() != nil:
		return fail(ctx.Err())
	case err != nil:
		return fail(err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return fail(errors.New("data.runid.deny is undefined"))
	}
	msgs, err := messages(rs[0].Expressions[0].Value)
	if err != nil {
		return fail(err)
	}
	d.Deny, d.Allowed, d.Duration = msgs, len(msgs) == 0, time.Since(start)
	return d
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// messages turns the value of data.runid.deny into sorted strings: a
// string as is, anything else as compact JSON.
func messages(v any) ([]string, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("data.runid.deny is %T, not a set of messages", v)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
			continue
		}
		b, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("deny message: %w", err)
		}
		out = append(out, string(b))
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}
