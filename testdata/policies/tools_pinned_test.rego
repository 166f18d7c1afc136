package runid_test.tools_pinned

import data.runid

denials(inp) := {m |
	ds := runid.deny with input as inp
	some m in ds
	startswith(m, "tools:")
}

with_tools(comps) := {"version": "1", "kind": "identity", "signatures": [], "identity": {
	"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	"specVersion": "1.0",
	"roles": {"tools": {"state": "present", "components": comps}},
}}

tool(name, digest) := {
	"role": "tools", "name": name, "mediaType": "application/vnd.runid.tools.v1+json",
	"digest": digest, "size": 806, "format": "json", "withheld": false,
}

test_approved_tools_allowed if {
	count(denials(with_tools([
		tool("tools/search_knowledge_base.json", "sha256:49834b89386c4d676a622eccefea4d083629143543a8f16cbdbe5a70cf400bec"),
		tool("tools/create_ticket.json", "sha256:89f0747f3bb0ade127cd67505aed2dd07598b342022809b0f42a02d2fa3ff802"),
	]))) == 0
}

test_no_tools_allowed if {
	count(denials(with_tools([]))) == 0
}

test_changed_tool_denied if {
	d := "sha256:49834b89386c4d676a622eccefea4d083629143543a8f16cbdbe5a70cf400bed"
	denials(with_tools([tool("tools/search_knowledge_base.json", d)])) == {sprintf("tools: \"tools/search_knowledge_base.json\" (%s) is not an approved tool definition", [d])}
}

test_approved_digest_under_other_name_allowed if {
	count(denials(with_tools([tool("tools/kb.json", "sha256:49834b89386c4d676a622eccefea4d083629143543a8f16cbdbe5a70cf400bec")]))) == 0
}

test_withheld_tool_denied if {
	c := json.patch(tool("tools/secret.json", "sha256:3333333333333333333333333333333333333333333333333333333333333333"), [
		{"op": "replace", "path": "/withheld", "value": true},
		{"op": "replace", "path": "/mediaType", "value": "application/vnd.runid.withheld.v1+json"},
	])
	"tools: \"tools/secret.json\" is withheld; only approved, disclosed tool definitions may be used" in denials(with_tools([c]))
}
