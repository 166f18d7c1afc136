package runid_test.required_signer

import data.runid

denials(inp) := {m |
	ds := runid.deny with input as inp
	some m in ds
	startswith(m, "signature:")
}

id_digest := "sha256:0000000000000000000000000000000000000000000000000000000000000000"

release_key := "sha256:9010d02a12437b423e9356f84a0ac52d3b4ebaa8abe521deec8b4a95f8fe1193"

signed_by(sigs) := {"version": "1", "kind": "identity", "signatures": sigs, "identity": {
	"digest": id_digest, "specVersion": "1.0", "roles": {},
}}

test_trusted_signature_allowed if {
	count(denials(signed_by([{"keyId": release_key, "format": "tag", "signed": "identity", "digest": id_digest}]))) == 0
}

test_bundle_signature_allowed if {
	count(denials(signed_by([
		{"keyId": "sha256:1234", "format": "tag", "signed": "identity", "digest": id_digest},
		{"keyId": release_key, "format": "bundle", "signed": "identity", "digest": id_digest},
	]))) == 0
}

test_unsigned_denied if {
	denials(signed_by([])) == {"signature: the identity has no verified signature by a trusted key"}
}

test_other_key_denied if {
	count(denials(signed_by([{"keyId": "sha256:1234", "format": "tag", "signed": "identity", "digest": id_digest}]))) == 1
}

test_signature_of_output_record_only_denied if {
	count(denials(signed_by([{"keyId": release_key, "format": "tag", "signed": "output-record", "digest": "sha256:5555555555555555555555555555555555555555555555555555555555555555"}]))) == 1
}
