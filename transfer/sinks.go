package transfer

import (
	"bytes"
	"fmt"
	"io"
)

// sink is where a file's bytes go. hold is write for bytes that lie in a
// pooled record buffer b: a sink that can write them later without a copy
// keeps b and reports so (fileSink in direct mode); others write p and
// leave b to the caller.
type sink interface {
	write(p []byte) error
	hold(p []byte, b *[]byte) (kept bool, err error)
	zeros(n int) error
}

type textSink struct {
	buf bytes.Buffer
	max int
}

func (s *textSink) write(p []byte) error {
	if s.buf.Len()+len(p) > s.max {
		return verifyError("the text is longer than announced")
	}
	s.buf.Write(p)
	return nil
}

func (s *textSink) zeros(n int) error { return s.write(zeroBlock[:n]) }

func (s *textSink) hold(p []byte, _ *[]byte) (bool, error) { return false, s.write(p) }

// discardSink takes the data of a file the person chose to skip: it is
// still checked against the sender's checksum, and written nowhere.
type discardSink struct{}

func (discardSink) write([]byte) error { return nil }

func (discardSink) zeros(int) error { return nil }

func (discardSink) hold([]byte, *[]byte) (bool, error) { return false, nil }

type writerSink struct{ w io.Writer }

func (s writerSink) write(p []byte) error {
	if _, err := s.w.Write(p); err != nil {
		return fmt.Errorf("writing to standard output: %w", err)
	}
	return nil
}

func (s writerSink) zeros(n int) error { return s.write(zeroBlock[:n]) }

func (s writerSink) hold(p []byte, _ *[]byte) (bool, error) { return false, s.write(p) }
