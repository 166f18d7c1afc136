package main

import "testing"

func TestRowSelected(t *testing.T) {
	for _, tc := range []struct {
		words, workload string
		want            bool
	}{
		{"", "pull and verify the 1 GiB identity", true},
		{"pull", "pull and verify the 1 GiB identity", true},
		{"Documents, pull", "push 10000 context documents of 1 KiB", true},
		{"pull", "push 10000 context documents of 1 KiB", false},
		{" , ", "push 1 GiB in 8 files", false},
	} {
		if got := rowSelected(tc.words, tc.workload); got != tc.want {
			t.Errorf("rowSelected(%q, %q) = %v, want %v", tc.words, tc.workload, got, tc.want)
		}
	}
}
