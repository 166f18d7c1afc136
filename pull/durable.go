package pull

import (
	"io"
	"os"
)

// writebackChunk is how many bytes a temporary file takes before Pull asks
// the kernel to start writing them to disk, so that the flush at the end
// of the blob finds most of them written.
const writebackChunk = 8 << 20

// fileSink writes a blob to a temporary file. With sync, it starts the
// write-back of every writebackChunk bytes as they are written (on Linux;
// elsewhere the flush does it all), and flush makes the file durable
// (fsync) before its blob is reported verified.
type fileSink struct {
	f       *os.File
	sync    bool
	n       int64 // bytes written
	started int64 // bytes whose write-back has been started
}

func (s *fileSink) Write(p []byte) (int, error) {
	k, err := s.f.Write(p)
	s.n += int64(k)
	if s.sync && s.n-s.started >= writebackChunk {
		startWriteback(s.f, s.started, s.n-s.started)
		s.started = s.n
	}
	return k, err
}

func (s *fileSink) reset() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s.n, s.started = 0, 0
	return s.f.Truncate(0)
}

// flush makes what was written durable, unless sync is off.
func (s *fileSink) flush() error {
	if !s.sync {
		return nil
	}
	return s.f.Sync()
}
