package runid_test.runtime_image

import data.runid

denials(inp) := {m |
	ds := runid.deny with input as inp
	some m in ds
	startswith(m, "runtime:")
}

with_runtime(content) := {"version": "1", "kind": "identity", "signatures": [], "identity": {
	"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	"specVersion": "1.0",
	"roles": {"runtime": {"state": "present", "components": [{
		"role": "runtime", "name": "runtime.json", "mediaType": "application/vnd.runid.runtime.v1+json",
		"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size": 40,
		"format": "json", "withheld": false, "content": content,
	}]}},
}}

released := "registry.example.com/support-agent@sha256:2579efdb974ace24f888022f7fc49ae4e427132804c057c7dc3dd0aad7d37d7c"

test_released_image_allowed if {
	count(denials(with_runtime({"container": {"image": released}}))) == 0
}

test_tag_only_denied if {
	denials(with_runtime({"container": {"image": "registry.example.com/support-agent:1.8.2"}})) == {"runtime: container image \"registry.example.com/support-agent:1.8.2\" is not a released image (pin it by digest)"}
}

test_other_digest_denied if {
	count(denials(with_runtime({"container": {"image": "registry.example.com/support-agent@sha256:2579efdb974ace24f888022f7fc49ae4e427132804c057c7dc3dd0aad7d37d7d"}}))) == 1
}

test_no_container_denied if {
	denials(with_runtime({"engine": {"name": "llama.cpp"}})) == {"runtime: the run declares no container image (runtime.container.image)"}
}
