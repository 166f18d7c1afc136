package runid_test.system_prompt_approved

import data.runid

denials(inp) := {m |
	ds := runid.deny with input as inp
	some m in ds
	startswith(m, "system-prompt:")
}

with_prompts(state, comps) := {"version": "1", "kind": "identity", "signatures": [], "identity": {
	"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	"specVersion": "1.0",
	"roles": {"system-prompt": {"state": state, "components": comps}},
}}

prompt(digest, withheld) := {
	"role": "system-prompt", "name": "system-prompt/support-agent.md",
	"mediaType": "application/vnd.runid.system-prompt.v1.text",
	"digest": digest, "size": 1683, "format": "text", "withheld": withheld,
}

approved := "sha256:eb0b73f0200cebd9b7f869bd8cdbe0355e11439f7ade0a1e30e149594869cd23"

test_approved_prompt_allowed if {
	count(denials(with_prompts("present", [prompt(approved, false)]))) == 0
}

test_other_prompt_denied if {
	d := "sha256:eb0b73f0200cebd9b7f869bd8cdbe0355e11439f7ade0a1e30e149594869cd24"
	denials(with_prompts("present", [prompt(d, false)])) == {sprintf("system-prompt: \"system-prompt/support-agent.md\" (%s) is not an approved system prompt", [d])}
}

test_no_prompt_denied if {
	denials(with_prompts("none", [])) == {"system-prompt: the run declares no system prompt"}
}

test_withheld_prompt_denied_even_when_commitment_listed if {
	# system_prompt_disclosed.rego refuses it even when the digest is approved.
	denials(with_prompts("withheld", [prompt(approved, true)])) == {"system-prompt: \"system-prompt/support-agent.md\" is withheld; the system prompt must be disclosed"}
}
