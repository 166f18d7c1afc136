package pack

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadSized: the reported size is a hint; what is read is what the
// reader gives, up to limit+1 bytes.
func TestReadSized(t *testing.T) {
	data := strings.Repeat("0123456789", 100)
	tests := []struct {
		name        string
		size, limit int64
		want        int
	}{
		{"exact", 1000, 4096, 1000},
		{"grew since stat", 10, 4096, 1000},
		{"shrank since stat", 4000, 4096, 1000},
		{"over the limit", 1000, 100, 101},
		{"unknown size", -1, 4096, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSized(iotest.HalfReader(strings.NewReader(data)), tc.size, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want || !bytes.Equal(got, []byte(data[:tc.want])) {
				t.Errorf("read %d bytes, want the first %d", len(got), tc.want)
			}
		})
	}
	if _, err := readSized(iotest.ErrReader(iotest.ErrTimeout), 10, 100); err != iotest.ErrTimeout {
		t.Errorf("error %v, want the reader's", err)
	}
}
