package main

import (
	"strings"
	"testing"
)

func TestParseStoreBench(t *testing.T) {
	out := `goos: linux
BenchmarkStoreScale/identities=10-2         	      20	  40000000 ns/op	        30.0 attach-ms	         2.0 discover-ms	         0.1 open-ms	         5.0 push-ms	         3.0 verify-ms
BenchmarkStoreScale/identities=100000-2     	      20	  50000000 ns/op	        35.0 attach-ms	         2.0 discover-ms	         0.1 open-ms	         8.0 push-ms	         4.0 verify-ms
BenchmarkStoreScale/identities=10-2         	      20	  44000000 ns/op	        30.0 attach-ms	         2.0 discover-ms	         0.1 open-ms	         7.0 push-ms	         3.0 verify-ms
BenchmarkStoreScale/identities=100000-2     	      20	  70000000 ns/op	        35.0 attach-ms	         2.0 discover-ms	         0.1 open-ms	         8.0 push-ms	         4.0 verify-ms
BenchmarkStoreScale/identities=10-2         	      20	  42000000 ns/op	        30.0 attach-ms	         2.0 discover-ms	         0.1 open-ms	         6.0 push-ms	         3.0 verify-ms
BenchmarkStoreScale/identities=100000-2     	      20	  60000000 ns/op	        35.0 attach-ms	         2.0 discover-ms	         0.1 open-ms	         8.0 push-ms	         4.0 verify-ms
`
	r := parseStoreBench(out)
	if got := r.median("identities=10", "ns/op"); got != 42e6 {
		t.Errorf("median ns/op at 10: %v", got)
	}
	if got := r.median("identities=10", "push-ms"); got != 6 {
		t.Errorf("median push-ms at 10: %v", got)
	}
	var b strings.Builder
	writeStoreTable(&b, r, 3)
	if !strings.Contains(b.String(), "| 100000 | 60.0 |") || !strings.Contains(b.String(), "1.43x | ≤ 1.5x | yes |") {
		t.Errorf("table:\n%s", b.String())
	}
}
