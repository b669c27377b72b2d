package transfer

import (
	"bytes"
	"path/filepath"
	"testing"
)

// Sender and receiver count WireBytes on the same basis: the data records'
// payload bytes (the files' data as it crossed, after compression), which
// is what the channel carried in data records; offers, resume claims and
// the other control records are not counted on either side (issue 16 item
// 14).
func TestWireBytesSameOnBothSides(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "set", "random.bin"), randBytes(7, 300_000), 0o644)
	writeFile(t, filepath.Join(src, "set", "source.go"), compressible(500_000), 0o644)
	writeFile(t, filepath.Join(src, "set", "small.txt"), []byte("small"), 0o644)
	for _, c := range []struct {
		name string
		so   SendOptions
		part bool // the receiver holds part of random.bin
	}{
		{"files, compression off", SendOptions{Paths: []string{filepath.Join(src, "set")}, Compress: "off"}, false},
		{"files, compression on", SendOptions{Paths: []string{filepath.Join(src, "set")}, Compress: "on"}, false},
		{"files, resumed", SendOptions{Paths: []string{filepath.Join(src, "set")}, Compress: "on"}, true},
		{"text", SendOptions{Text: "the wifi password is hunter2", IsText: true}, false},
		{"stream", SendOptions{Stdin: bytes.NewReader(compressible(200_000)), StreamName: "s", Compress: "on"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			if c.part {
				writeFile(t, filepath.Join(out, "set", "random.bin"+partSuffix), randBytes(7, 300_000)[:100_000], 0o644)
			}
			r := transfer(t, c.so, ReceiveOptions{OutDir: out})
			mustOK(t, r)
			sent, got := eventsOf[Done](r.sendEv.list()), eventsOf[Done](r.recvEv.list())
			if len(sent) != 1 || len(got) != 1 {
				t.Fatalf("done events: sender %d, receiver %d", len(sent), len(got))
			}
			crossed := r.sender.Stats.Bytes(recData)
			if sent[0].WireBytes != crossed || got[0].WireBytes != crossed {
				t.Errorf("wire bytes: sender says %d, receiver says %d; the data records carried %d",
					sent[0].WireBytes, got[0].WireBytes, crossed)
			}
			if c.part && sent[0].Resumed != 100_000 {
				t.Errorf("resumed %d bytes, want 100000", sent[0].Resumed)
			}
		})
	}
}
