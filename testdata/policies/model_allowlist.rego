# Model allow-list: a run may use only the models listed here.
#
# An entry allows a model component whose content has every member of the
# entry with the same value: provider and name, and version when the entry
# gives one. A model on local weights is allowed by the digest of its
# weights instead. A withheld model, a model whose content is not in the
# input (too large, unparsable) and a run without a model are denied.
package runid

model_allowlist := [
	{"provider": "openai", "name": "gpt-4o", "version": "2024-08-06"},
	{"provider": "openai", "name": "gpt-4o-2024-08-06"},
	{"provider": "openai", "name": "gpt-4o-mini", "version": "2024-07-18"},
	{"provider": "anthropic", "name": "claude-sonnet-4-5-20250929"},
]

model_allowed_weights := {
	# llama-3.1-8b-instruct Q4_K_M (testdata/examples/local-weights)
	"sha256:ea02c05a33a663b2a992bc17a8f345508a64f7c4194ef08a40d08191201d43bd",
}

deny contains "model: the run declares no model" if {
	count(object.get(input.identity.roles, ["model", "components"], [])) == 0
}

deny contains msg if {
	some c in input.identity.roles.model.components
	c.withheld
	msg := sprintf("model: %q is withheld; the model must be disclosed", [c.name])
}

deny contains msg if {
	some c in input.identity.roles.model.components
	not c.withheld
	not c.content
	msg := sprintf("model: the content of %q is not in the policy input (%s)", [c.name, c.contentOmitted])
}

deny contains msg if {
	some c in input.identity.roles.model.components
	is_object(c.content)
	not model_listed(c.content)
	msg := sprintf("model: %s is not on the allow-list", [model_label(c.content)])
}

model_listed(m) if {
	some entry in model_allowlist
	every k, v in entry {
		m[k] == v
	}
}

model_listed(m) if {
	some w in m.weights
	w.digest in model_allowed_weights
}

model_label(m) := sprintf("%v/%v version %v", [
	object.get(m, "provider", "(no provider)"),
	object.get(m, "name", "(no name)"),
	object.get(m, "version", "(none)"),
])
