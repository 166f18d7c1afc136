module github.com/runid/runid-oci

go 1.26.0

require (
	github.com/goccy/go-yaml v1.19.2
	github.com/gowebpki/jcs v1.0.1
	github.com/opencontainers/go-digest v1.0.0
	github.com/opencontainers/image-spec v1.1.1
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	golang.org/x/text v0.42.0
)

require github.com/stretchr/testify v1.12.1 // indirect
