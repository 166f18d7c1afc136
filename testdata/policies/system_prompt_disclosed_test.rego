package runid_test.system_prompt_disclosed

import data.runid

withheld_denials(inp) := {m |
	ds := runid.deny with input as inp
	some m in ds
	endswith(m, "the system prompt must be disclosed")
}

with_prompt(withheld) := {"version": "1", "kind": "identity", "signatures": [], "identity": {
	"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	"specVersion": "1.0",
	"roles": {"system-prompt": {"state": "present", "components": [{
		"role": "system-prompt", "name": "system-prompt.txt",
		"mediaType": "application/vnd.runid.system-prompt.v1.text",
		"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"size": 10, "withheld": withheld,
	}]}},
}}

test_disclosed_prompt_allowed if {
	count(withheld_denials(with_prompt(false))) == 0
}

test_withheld_prompt_denied if {
	withheld_denials(with_prompt(true)) == {"system-prompt: \"system-prompt.txt\" is withheld; the system prompt must be disclosed"}
}
