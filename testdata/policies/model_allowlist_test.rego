package runid_test.model_allowlist

import data.runid

denials(inp) := {m |
	ds := runid.deny with input as inp
	some m in ds
	startswith(m, "model:")
}

with_model(comps) := {"version": "1", "kind": "identity", "signatures": [], "identity": {
	"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	"specVersion": "1.0",
	"roles": {"model": {"state": "present", "components": comps}},
}}

model_json(content) := {
	"role": "model", "name": "model.json", "mediaType": "application/vnd.runid.model.v1+json",
	"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size": 90,
	"format": "json", "withheld": false, "content": content,
}

test_listed_model_allowed if {
	count(denials(with_model([model_json({"provider": "openai", "name": "gpt-4o", "version": "2024-08-06", "fingerprint": "fp_1"})]))) == 0
}

test_entry_without_version_allows_any_version if {
	count(denials(with_model([model_json({"provider": "openai", "name": "gpt-4o-2024-08-06"})]))) == 0
}

test_other_version_denied if {
	denials(with_model([model_json({"provider": "openai", "name": "gpt-4o", "version": "2024-05-13"})])) == {"model: openai/gpt-4o version 2024-05-13 is not on the allow-list"}
}

test_unlisted_provider_denied if {
	count(denials(with_model([model_json({"provider": "example", "name": "gpt-4o", "version": "2024-08-06"})]))) == 1
}

test_weights_digest_allowed if {
	count(denials(with_model([model_json({"name": "llama", "weights": [{"digest": "sha256:ea02c05a33a663b2a992bc17a8f345508a64f7c4194ef08a40d08191201d43bd"}]})]))) == 0
}

test_other_weights_denied if {
	count(denials(with_model([model_json({"name": "llama", "weights": [{"digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222"}]})]))) == 1
}

test_no_model_denied if {
	inp := json.patch(with_model([]), [{"op": "replace", "path": "/identity/roles/model", "value": {"state": "none", "components": []}}])
	denials(inp) == {"model: the run declares no model"}
}

test_withheld_model_denied if {
	c := {"role": "model", "name": "model.json", "mediaType": "application/vnd.runid.withheld.v1+json",
		"digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333", "size": 120,
		"withheld": true, "contentOmitted": "withheld"}
	denials(with_model([c])) == {"model: \"model.json\" is withheld; the model must be disclosed"}
}

test_content_left_out_denied if {
	c := json.patch(model_json({}), [{"op": "remove", "path": "/content"}, {"op": "add", "path": "/contentOmitted", "value": "too-large"}])
	denials(with_model([c])) == {"model: the content of \"model.json\" is not in the policy input (too-large)"}
}
