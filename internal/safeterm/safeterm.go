// Package safeterm makes strings that came from a peer safe to print on a
// terminal: control characters, escape sequences and invisible or
// direction-changing characters are shown escaped, never interpreted.
package safeterm

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every byte or rune that could move the cursor, change
// colours, hide text or reorder it shown as a Go escape (\x1b, \n, \u202e),
// and invalid UTF-8 shown as \xNN. Printable text, spaces included, is kept.
func Escape(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case r == '\\':
			b.WriteString(`\\`)
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c >= 0x80 || c == '\\' {
			return isPlainSlow(s)
		}
	}
	return true
}

func isPlainSlow(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		}
		if r == '\\' || unsafeRune(r) {
			return false
		}
	}
	return true
}

// unsafeRune reports runes a terminal may act on or that hide or reorder text.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0: // C0, DEL, C1 (0x9b is CSI)
		return true
	case r == 0x200b || r == 0x200c || r == 0x200d || r == 0x2060 || r == 0xfeff: // zero width
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e || r == 0x200f, r == 0x061c: // bidi
		return true
	case r == 0x2028 || r == 0x2029: // line/paragraph separators
		return true
	case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Co, r):
		return true
	}
	return invisibleRune(r)
}

// invisibleRune reports runes a terminal draws as nothing, so a name can hide
// text or look like another: format characters (Cf: soft hyphen, invisible
// operators, tags), variation selectors and Unicode's default-ignorable code
// points, plus the Hangul fillers and U+180E, which some terminals draw blank
// even where the tables of this Go release class them otherwise.
func invisibleRune(r rune) bool {
	switch r {
	case 0x115f, 0x1160, 0x3164, 0xffa0, 0x180e:
		return true
	}
	return unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}
