package transfer

import (
	"context"
	"io"
)

// pumpReader reads a stream (standard input) in its own goroutine so that
// the producer can stop on cancellation even while a read blocks. The pump
// ends after the read in progress returns (at the latest when the stream
// closes or the process exits): nothing can interrupt a blocked read of
// standard input portably.
type pumpReader struct {
	req chan []byte
	res chan pumpResult
}

type pumpResult struct {
	n   int
	err error
}

func newPumpReader(r io.Reader) *pumpReader {
	p := &pumpReader{req: make(chan []byte), res: make(chan pumpResult, 1)}
	go func() {
		for buf := range p.req {
			n, err := r.Read(buf)
			p.res <- pumpResult{n, err}
		}
	}()
	return p
}

func (p *pumpReader) close() { close(p.req) }

func (p *pumpReader) withContext(ctx context.Context) io.Reader {
	return readerFunc(func(buf []byte) (int, error) {
		select {
		case p.req <- buf:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		select {
		case r := <-p.res:
			return r.n, r.err
		case <-ctx.Done():
			return 0, ctx.Err() // buf stays with the pump; it is not reused
		}
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
