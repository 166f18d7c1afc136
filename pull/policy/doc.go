// Package policy decides with an identity: it builds the policy input
// document of a run identity (or of an output record and its identity)
// and evaluates Open Policy Agent policies (Rego v1) on it, so that a run
// whose composition is not allowed is stopped before it executes, or
// refused when it is verified.
//
// # Input
//
// NewInput (from a store) and CompositionInput (from a composition not yet
// pushed) build the document that spec/SPEC.md, "Policy input", defines
// and spec/schema/policy-input.schema.json validates: the identity's
// digest and reference, every role with its state and components (name,
// media type, digest, size, format, withheld), the content of small
// disclosed components parsed (json and yaml as JSON values, text as a
// string) within bounds (DefaultMaxContentSize per component,
// DefaultMaxTotalContent per input, DefaultMaxContentNodes per parsed
// value), with contentOmitted saying why content is absent; the verified
// signatures the caller passes (this package checks none, so it needs no
// signing library); and for an output record its execution facts, files
// and subject. Content is fetched through its digest and size, so an input
// never holds bytes that are not the identity's; withheld content is never
// in it.
//
// # Evaluation
//
// Load and Compile compile policies once (a file, several, or a directory
// of .rego files; _test.rego files are left to "opa test"). A policy that
// does not parse or compile is refused with a *CompileError naming file,
// line and message; the network and environment built-ins (http.send,
// net.lookup_ip_addr, opa.runtime) are refused at compile time. Evaluate
// asks for data.runid.deny, a set of messages: empty means allowed.
//
// Evaluation fails closed: a runtime error (built-in errors are strict), a
// deny that is not a set, a conflict between rules, a cancelled context or
// the time bound (Options.Timeout, DefaultTimeout) give a denial whose
// Error says why. A rule that reads a field the input does not have is
// undefined and does not fire (Rego's semantics): a policy that requires a
// field denies when it is absent, with "not".
//
// A Policy is safe for concurrent use; evaluations share nothing.
package policy
