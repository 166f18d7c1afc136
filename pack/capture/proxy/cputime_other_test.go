//go:build !unix

package proxy_test

import (
	"testing"
	"time"
)

// cpuTime is 0 where getrusage is missing: the CPU metric is not reported.
func cpuTime(*testing.B) time.Duration { return 0 }
