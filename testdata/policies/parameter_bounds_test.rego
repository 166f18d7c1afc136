package runid_test.parameter_bounds

import data.runid

denials(inp) := {m |
	ds := runid.deny with input as inp
	some m in ds
	startswith(m, "parameters:")
}

with_parameters(content) := {"version": "1", "kind": "identity", "signatures": [], "identity": {
	"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	"specVersion": "1.0",
	"roles": {"parameters": {"state": "present", "components": [{
		"role": "parameters", "name": "parameters.json", "mediaType": "application/vnd.runid.parameters.v1+json",
		"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size": 40,
		"format": "json", "withheld": false, "content": content,
	}]}},
}}

test_in_bounds_allowed if {
	count(denials(with_parameters({"temperature": 0.2, "max_tokens": 800}))) == 0
}

test_bounds_inclusive if {
	count(denials(with_parameters({"temperature": 1, "max_completion_tokens": 4096}))) == 0
}

test_undeclared_not_checked if {
	count(denials(with_parameters({"top_p": 0.9}))) == 0
}

test_hot_temperature_denied if {
	denials(with_parameters({"temperature": 1.5})) == {"parameters: temperature 1.5 is outside [0, 1]"}
}

test_temperature_not_a_number_denied if {
	count(denials(with_parameters({"temperature": "0.2"}))) == 1
}

test_too_many_tokens_denied if {
	denials(with_parameters({"n_predict": 100000})) == {"parameters: n_predict 100000 is outside [1, 4096]"}
}

test_withheld_parameters_denied if {
	inp := json.patch(with_parameters({}), [
		{"op": "replace", "path": "/identity/roles/parameters/components/0/withheld", "value": true},
		{"op": "remove", "path": "/identity/roles/parameters/components/0/content"},
	])
	denials(inp) == {"parameters: \"parameters.json\" is withheld; its values cannot be checked"}
}
