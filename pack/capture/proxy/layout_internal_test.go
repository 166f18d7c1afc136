package proxy

import (
	"testing"
	"time"
)

func TestNextIndexSave(t *testing.T) {
	tests := []struct {
		name           string
		interval, took time.Duration
		want           time.Duration
	}{
		{"a small index: the interval", time.Second, 3 * time.Millisecond, time.Second},
		{"a tenth of the interval: the interval", time.Second, 100 * time.Millisecond, time.Second},
		{"a large index: ten times the save", time.Second, 250 * time.Millisecond, 2500 * time.Millisecond},
		{"a save longer than the interval", 200 * time.Millisecond, time.Second, 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextIndexSave(tc.interval, tc.took); got != tc.want {
				t.Errorf("nextIndexSave(%s, %s) = %s, want %s", tc.interval, tc.took, got, tc.want)
			}
		})
	}
}
