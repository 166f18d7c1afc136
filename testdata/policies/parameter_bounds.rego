# Parameter bounds: sampling temperature between 0 and 1, and at most 4096
# output tokens, under whichever name the API uses. A parameter that is not
# declared is not checked (the provider's default applies); withheld
# parameters, or parameters whose content is not in the input, are denied,
# since their values cannot be checked.
package runid

parameters_max_temperature := 1

parameters_max_tokens := 4096

# The names under which APIs and runtimes take the output token limit.
parameters_token_fields := ["max_tokens", "max_completion_tokens", "max_output_tokens", "n_predict", "num_predict"]

deny contains msg if {
	some c in input.identity.roles.parameters.components
	c.withheld
	msg := sprintf("parameters: %q is withheld; its values cannot be checked", [c.name])
}

deny contains msg if {
	some c in input.identity.roles.parameters.components
	not c.withheld
	not is_object(object.get(c, "content", null))
	msg := sprintf("parameters: the content of %q is not in the policy input (%s)", [c.name, object.get(c, "contentOmitted", "not an object")])
}

deny contains msg if {
	some c in input.identity.roles.parameters.components
	t := c.content.temperature
	not parameters_in_range(t, 0, parameters_max_temperature)
	msg := sprintf("parameters: temperature %v is outside [0, %v]", [t, parameters_max_temperature])
}

deny contains msg if {
	some c in input.identity.roles.parameters.components
	some field in parameters_token_fields
	n := c.content[field]
	not parameters_in_range(n, 1, parameters_max_tokens)
	msg := sprintf("parameters: %s %v is outside [1, %v]", [field, n, parameters_max_tokens])
}

parameters_in_range(x, lo, hi) if {
	is_number(x)
	x >= lo
	x <= hi
}
