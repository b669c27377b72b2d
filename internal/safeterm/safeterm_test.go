package safeterm

import (
	"strings"
	"testing"
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

func FuzzEscape(f *testing.F) {
	f.Add("plain")
	f.Add("\x1b[31mred")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) is not valid UTF-8: %q", s, out)
		}
		for _, r := range out {
			if unsafeRune(r) {
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
