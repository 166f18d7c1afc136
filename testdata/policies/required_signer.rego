# Required signer: the identity must carry a verified signature by one of
# these keys. Key IDs are "sha256:" and the hex SHA-256 of the DER public
# key, as "runid-oci verify --key KEY -o json" reports them (signatures.keyID).
# Signatures enter the policy input only when verify checks them (--key);
# without a key the input lists none and this policy denies.
package runid

signer_trusted := {
	# testdata/policies/keys/release.pub (an example key; its password is in
	# testdata/policies/README.md)
	"sha256:9010d02a12437b423e9356f84a0ac52d3b4ebaa8abe521deec8b4a95f8fe1193": "example release key",
}

deny contains "signature: the identity has no verified signature by a trusted key" if {
	not signer_identity_signed
}

signer_identity_signed if {
	some s in input.signatures
	s.signed == "identity"
	s.digest == input.identity.digest
	signer_trusted[s.keyId]
}
