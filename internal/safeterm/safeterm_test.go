package safeterm

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	cases := []struct{ in, want string }{
		{"photo.jpg", "photo.jpg"},
		{"héllo wörld ☃.txt", "héllo wörld ☃.txt"},
		{"-rf", "-rf"},
		{"a\nb", `a\nb`},
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\a`},
		{"evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"c1\u009bcsi", `c1\u009bcsi`},
		{"bad\xffutf8", `bad\xffutf8`},
		{`back\slash`, `back\\slash`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"tab\there", `tab\there`},
		{"del\x7f", `del\x7f`},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestEscapeInvisible covers every invisible character issue 18 found passing
// through: each must come out as a \u or \U escape, never raw.
func TestEscapeInvisible(t *testing.T) {
	runes := []rune{
		0x00ad, 0x034f, 0x115f, 0x1160, 0x180e, 0x2062, 0x2063, 0x206a,
		0x3164, 0xfe0f, 0xffa0, 0xfff9, 0xfffa, 0xfffb,
		0xe0001, 0xe0020, 0xe0041, 0xe007f, 0xe0100, 0xe01ef,
		0x180b, 0xfe00, 0x17b4, 0x2065, 0xe0000, 0xe0fff,
	}
	for _, r := range runes {
		in := "a" + string(r) + "b"
		var want string
		if r > 0xffff {
			want = fmt.Sprintf(`a\U%08x`, r) + "b"
		} else {
			want = fmt.Sprintf(`a\u%04x`, r) + "b"
		}
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	// Visible letters next to those ranges stay as they are.
	for _, s := range []string{"한글", "ᄀ", "ﾡ", "ㄱ"} {
		if got := Escape(s); got != s {
			t.Errorf("Escape(%q) = %q, want it unchanged", s, got)
		}
	}
}

// hidden reports runes no escaped output may carry raw, from the Unicode
// tables directly rather than through unsafeRune.
func hidden(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Variation_Selector,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Zl, unicode.Zp) ||
		r == 0x115f || r == 0x1160 || r == 0x3164 || r == 0xffa0 || r == 0x180e
}

func FuzzEscape(f *testing.F) {
	f.Add("plain")
	f.Add("\x1b[31mred")
	f.Add("\xff\xfe")
	f.Add("pin\u00adcode\U000e0041\U000e0100\ufe0f\u3164")
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) is not valid UTF-8: %q", s, out)
		}
		for _, r := range out {
			if unsafeRune(r) || hidden(r) {
				t.Fatalf("Escape(%q) = %q still holds %U", s, out, r)
			}
		}
		if isPlain(s) && out != s {
			t.Fatalf("plain %q changed to %q", s, out)
		}
		if strings.ContainsRune(out, 0x1b) {
			t.Fatal("escape survived")
		}
	})
}
