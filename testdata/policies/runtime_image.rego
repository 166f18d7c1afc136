# Required runtime image: the run must declare the container image it ran
# in, by digest, and the digest must be one of the released images.
# Runtimes write it as runtime.container.image, "name@sha256:<hex>".
package runid

runtime_images := {
	# registry.example.com/support-agent, release 1.8.2
	"sha256:2579efdb974ace24f888022f7fc49ae4e427132804c057c7dc3dd0aad7d37d7c",
}

deny contains "runtime: the run declares no container image (runtime.container.image)" if {
	count(runtime_image_refs) == 0
}

deny contains msg if {
	some ref in runtime_image_refs
	not runtime_image_released(ref)
	msg := sprintf("runtime: container image %q is not a released image (pin it by digest)", [ref])
}

runtime_image_refs contains ref if {
	some c in input.identity.roles.runtime.components
	ref := c.content.container.image
}

runtime_image_released(ref) if {
	parts := split(ref, "@")
	count(parts) == 2
	parts[1] in runtime_images
}
