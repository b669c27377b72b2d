package tui

import (
	"strings"

	"github.com/mdp/qrterminal/v3"
)

// maxQRText bounds what is put in a QR code: the receive command is short,
// and the QR library cannot encode arbitrarily long text.
const maxQRText = 1000

// qrCode draws text as a QR code with half blocks, two rows per line, so it
// stays small enough for a terminal. ok is false when text cannot be drawn.
func qrCode(text string) (code string, ok bool) {
	if text == "" || len(text) > maxQRText {
		return "", false
	}
	var b strings.Builder
	qrterminal.GenerateWithConfig(text, qrterminal.Config{
		Level:          qrterminal.L,
		Writer:         &b,
		HalfBlocks:     true,
		BlackChar:      qrterminal.BLACK_BLACK,
		BlackWhiteChar: qrterminal.BLACK_WHITE,
		WhiteChar:      qrterminal.WHITE_WHITE,
		WhiteBlackChar: qrterminal.WHITE_BLACK,
		QuietZone:      2,
	})
	return strings.TrimRight(b.String(), "\n"), true
}
