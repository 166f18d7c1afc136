# Approved system prompts: a run must have a system prompt, and every
# system-prompt component must be one of the approved texts, by digest (the
# SHA-256 of the exact bytes of a text component). A withheld system prompt
# passes this check only if its commitment digest is listed; combine with
# system_prompt_disclosed.rego to refuse withheld prompts outright.
package runid

system_prompt_approved := {
	# testdata/examples/rag-agent/prompts/system.md
	"sha256:eb0b73f0200cebd9b7f869bd8cdbe0355e11439f7ade0a1e30e149594869cd23",
	# testdata/requests/openai-chat.json
	"sha256:a90a31e6b06bb2b06c322e9e8bfbdc78ee17e37e015c0819dd79093e6cda4da8",
}

deny contains "system-prompt: the run declares no system prompt" if {
	count(object.get(input.identity.roles, ["system-prompt", "components"], [])) == 0
}

deny contains msg if {
	some c in input.identity.roles["system-prompt"].components
	not c.digest in system_prompt_approved
	msg := sprintf("system-prompt: %q (%s) is not an approved system prompt", [c.name, c.digest])
}
