# No withheld system prompt: the system prompt must be disclosed in the
# identity, so that anyone holding the identity can read what the model was
# told. A withheld component's content never reaches a policy; only its
# name and commitment digest do.
package runid

deny contains msg if {
	some c in input.identity.roles["system-prompt"].components
	c.withheld
	msg := sprintf("system-prompt: %q is withheld; the system prompt must be disclosed", [c.name])
}
