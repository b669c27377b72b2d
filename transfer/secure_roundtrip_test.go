package transfer

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer/secure"
)

// securePair connects two secure channels over loopback TCP, as the relay
// would, so that the transfer runs on the real channel: records sealed from
// the sender's buffers (BufferPlainRecord) and decrypted into the
// receiver's (ReadRecordInto).
func securePair(t *testing.T) (snd, rcv *secure.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		a.Close()
		t.Fatal("accept failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		snd, serr = secure.Handshake(ctx, a, secure.Config{Code: "7-secure-pair", Nameplate: "7", Role: secure.Sender})
	}()
	rcv, rerr := secure.Handshake(ctx, b, secure.Config{Code: "7-secure-pair", Nameplate: "7", Role: secure.Receiver})
	wg.Wait()
	if serr != nil || rerr != nil {
		a.Close()
		b.Close()
		t.Fatalf("handshake: %v / %v", serr, rerr)
	}
	t.Cleanup(func() { snd.Close(); rcv.Close() })
	return snd, rcv
}

func TestRoundTripOverSecureChannel(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "set", "random.bin"), randBytes(21, 3*blockSize+777), 0o644)
	writeFile(t, filepath.Join(src, "set", "text.txt"), compressible(5*blockSize+3), 0o644)
	writeFile(t, filepath.Join(src, "set", "empty"), nil, 0o644)
	// Large enough for direct writes, with a partial last disk block.
	writeFile(t, filepath.Join(src, "set", "large.bin"), randBytes(24, directMinSize+3*directAlign+999), 0o644)
	// Zero blocks in the middle of data: sent as lengths, not bytes.
	zeros := append(append(randBytes(22, 1000), make([]byte, 2*blockSize)...), randBytes(23, 5000)...)
	writeFile(t, filepath.Join(src, "set", "zeros.bin"), zeros, 0o644)
	for _, mode := range []Compression{CompressOff, CompressAuto, CompressOn} {
		t.Run(string(mode), func(t *testing.T) {
			snd, rcv := securePair(t)
			out := t.TempDir()
			var wg sync.WaitGroup
			var serr error
			sendEv := &events{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serr = Send(context.Background(), snd, SendOptions{Paths: []string{filepath.Join(src, "set")}, Compress: mode}, sendEv.add)
			}()
			rerr := Receive(context.Background(), rcv, ReceiveOptions{OutDir: out}, nil)
			wg.Wait()
			if serr != nil || rerr != nil {
				t.Fatalf("send: %v\nreceive: %v", serr, rerr)
			}
			sameTree(t, src, out)
			var done *Done
			for _, ev := range sendEv.list() {
				if d, ok := ev.(Done); ok {
					done = &d
				}
			}
			if done == nil {
				t.Fatal("the sender reported no Done")
			}
			// The zero blocks never cross as bytes; with "on" the text is
			// compressed too.
			if done.WireBytes >= done.Bytes {
				t.Errorf("%d bytes on the wire for %d bytes of files", done.WireBytes, done.Bytes)
			}
			if text := int64(5*blockSize + 3); mode == CompressOn && done.WireBytes > done.Bytes-text {
				t.Errorf("compression on: %d bytes on the wire for %d bytes, of which %d compressible", done.WireBytes, done.Bytes, text)
			}
		})
	}
}

// TestRecordSizeMatchesTheChannel ties transfer's record size to the secure
// channel's: a transfer block must fill a record exactly, and never exceed
// one. transfer does not import secure (it runs over any Channel), so the
// two constants meet here.
func TestRecordSizeMatchesTheChannel(t *testing.T) {
	if MaxRecordPayload != secure.MaxPayload {
		t.Fatalf("transfer.MaxRecordPayload = %d, secure.MaxPayload = %d", MaxRecordPayload, secure.MaxPayload)
	}
}
