package tui

import (
	"strings"
	"testing"
)

func TestQRCode(t *testing.T) {
	code, ok := qrCode("bob recv --relay 192.168.1.20:9009 7-guitarist-revenge")
	if !ok {
		t.Fatal("qrCode failed")
	}
	lines := strings.Split(code, "\n")
	if len(lines) < 10 {
		t.Fatalf("QR code has %d lines, want a real code:\n%s", len(lines), code)
	}
	for _, l := range lines {
		if strings.ContainsRune(l, 0x1b) {
			t.Fatalf("QR code contains an escape sequence: %q", l)
		}
		if strings.Trim(l, " ▀▄█") != "" {
			t.Fatalf("QR code has unexpected characters: %q", l)
		}
	}
	if _, ok := qrCode(""); ok {
		t.Error("empty text gave a QR code")
	}
	if _, ok := qrCode(strings.Repeat("x", maxQRText+1)); ok {
		t.Error("overlong text gave a QR code")
	}
}
