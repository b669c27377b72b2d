package secure

import (
	"bytes"
	"io"
	"testing"
)

var benchCiphers = []string{CipherAESGCM, CipherChaChaPoly}

// BenchmarkWriteRecord measures sealing and framing one full record (one
// op) into a sink: the sender's per-core cost.
func BenchmarkWriteRecord(b *testing.B) {
	for _, cipher := range benchCiphers {
		b.Run(cipher, func(b *testing.B) {
			w := newTestConn(b, cipher, &pipeRW{r: bytes.NewReader(nil), w: io.Discard}, fuzzKeyA, fuzzKeyB)
			payload := randomBytes(1, MaxPayload)
			b.SetBytes(MaxPayload)
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WriteRecord(DataRecord, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadRecord measures reading, authenticating and decrypting one
// full record (one op) from memory: the receiver's per-core cost.
func BenchmarkReadRecord(b *testing.B) {
	const records = 64
	for _, cipher := range benchCiphers {
		b.Run(cipher, func(b *testing.B) {
			var stream bytes.Buffer
			w := newTestConn(b, cipher, &pipeRW{r: bytes.NewReader(nil), w: &stream}, fuzzKeyA, fuzzKeyB)
			payload := randomBytes(2, MaxPayload)
			for range records {
				if err := w.WriteRecord(DataRecord, payload); err != nil {
					b.Fatal(err)
				}
			}
			src := bytes.NewReader(stream.Bytes())
			r := newTestConn(b, cipher, &pipeRW{r: src, w: io.Discard}, fuzzKeyB, fuzzKeyA)
			b.SetBytes(MaxPayload)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if n == records {
					// Start the same stream again from nonce 0.
					src.Reset(stream.Bytes())
					r.br.Reset(src)
					r.recv.n = 0
					r.consumed = 0
					n = 0
				}
				if _, _, err := r.ReadRecord(); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}

// BenchmarkChannel measures one-way throughput end to end: one goroutine
// writes full records, another reads them, over a pipe or loopback TCP.
func BenchmarkChannel(b *testing.B) {
	for _, tr := range transports {
		for _, cipher := range benchCiphers {
			b.Run(tr.name+"/"+cipher, func(b *testing.B) {
				sc, rc := senderConfig(), receiverConfig()
				sc.ForceCipher, rc.ForceCipher = cipher, cipher
				s, r := connectedPair(b, tr, sc, rc)
				payload := randomBytes(3, MaxPayload)
				b.SetBytes(MaxPayload)
				b.ReportAllocs()
				b.ResetTimer()
				errc := make(chan error, 1)
				go func() {
					for range b.N {
						if err := s.WriteRecord(DataRecord, payload); err != nil {
							errc <- err
							return
						}
					}
					errc <- s.CloseWrite()
				}()
				for {
					_, _, err := r.ReadRecord()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
