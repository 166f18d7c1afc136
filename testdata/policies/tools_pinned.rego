# Tool definitions pinned by digest: every tool component must be one of the
# approved definitions, byte for byte. The digest of a JSON component is the
# SHA-256 of its RFC 8785 canonical form, so reformatting a definition keeps
# its digest while any change to a name, description or schema changes it
# (a tool that changed its description after approval is refused).
# "runid-oci inspect TARGET" lists each tool's digest.
package runid

tools_approved := {
	# testdata/examples/rag-agent
	"sha256:49834b89386c4d676a622eccefea4d083629143543a8f16cbdbe5a70cf400bec": "search_knowledge_base",
	"sha256:89f0747f3bb0ade127cd67505aed2dd07598b342022809b0f42a02d2fa3ff802": "create_ticket",
	# testdata/requests/openai-chat.json, as the proxy and import record it
	"sha256:7986076bab0c36756acdbda9c59fe25b5e7f8de7d3208b7356d9d6f74a955715": "get_order",
	"sha256:1272ea5da362db66b4d41e6cab71a3feaa26e72904c50b30f0ea65ca1bbf6a45": "get_shipment",
}

deny contains msg if {
	some c in input.identity.roles.tools.components
	c.withheld
	msg := sprintf("tools: %q is withheld; only approved, disclosed tool definitions may be used", [c.name])
}

deny contains msg if {
	some c in input.identity.roles.tools.components
	not c.withheld
	not tools_approved[c.digest]
	msg := sprintf("tools: %q (%s) is not an approved tool definition", [c.name, c.digest])
}
