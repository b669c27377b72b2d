package codes

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestWordListStrength(t *testing.T) {
	words := Words()
	bits := WordsPerCode * math.Log2(float64(len(words)))
	if bits < 24 {
		t.Fatalf("codes carry %.1f bits of secret, want at least 24", bits)
	}
	seen := map[string]bool{}
	for _, w := range words {
		if seen[w] {
			t.Fatalf("duplicate word %q", w)
		}
		seen[w] = true
		if !isLowerASCII(w) || len(w) > maxWordLen {
			t.Fatalf("word %q is not short lower-case ASCII", w)
		}
	}
}

func TestGenerateParseRoundTrip(t *testing.T) {
	for i := 0; i < 100; i++ {
		c, err := Generate("7", nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(c.Secret, "-") != WordsPerCode-1 {
			t.Fatalf("secret %q does not have %d words", c.Secret, WordsPerCode)
		}
		got, err := Parse(c.String())
		if err != nil || got != c {
			t.Fatalf("Parse(%q) = %+v, %v", c, got, err)
		}
	}
}

func TestGenerateUsesRandomness(t *testing.T) {
	a, _ := Generate("1", bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
	b, _ := Generate("1", bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
	c, _ := Generate("1", bytes.NewReader(bytes.Repeat([]byte{200}, 64)))
	if a != b || a == c {
		t.Fatalf("codes do not follow the random source: %v %v %v", a, b, c)
	}
	if _, err := Generate("1", bytes.NewReader(nil)); err == nil {
		t.Fatal("Generate with an empty random source succeeded")
	}
	if _, err := Generate("x1", nil); err == nil {
		t.Fatal("Generate accepted a non-numeric nameplate")
	}
}

func TestParseForgives(t *testing.T) {
	for _, in := range []string{"7-guitarist-revenge", "  7-Guitarist-REVENGE\n", "7 guitarist revenge"} {
		c, err := Parse(in)
		if err != nil || c.Nameplate != "7" || c.Secret != "guitarist-revenge" {
			t.Errorf("Parse(%q) = %+v, %v", in, c, err)
		}
	}
	// NFC: e + combining acute equals é.
	a, _ := Parse("3-cafe\u0301-x")
	b, _ := Parse("3-caf\u00e9-x")
	if a != b {
		t.Errorf("NFC forms differ: %q %q", a, b)
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "7", "7-", "-word", "x-word-word", "123456789-a-b", "guitarist-revenge"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
	if _, err := ParseChosen("5-abc"); err == nil {
		t.Error("ParseChosen accepted a 3-character secret")
	}
	if c, err := ParseChosen("5-my-long-secret"); err != nil || c.Secret != "my-long-secret" {
		t.Errorf("ParseChosen: %+v %v", c, err)
	}
}

func TestComplete(t *testing.T) {
	got := Complete("7-ca")
	if len(got) == 0 {
		t.Fatal("no completion for 7-ca")
	}
	for _, g := range got {
		if !strings.HasPrefix(g, "7-ca") {
			t.Fatalf("completion %q does not extend the input", g)
		}
	}
	if Complete("7") != nil {
		t.Error("the nameplate was completed")
	}
	if len(Complete("7-zzzzzz")) != 0 {
		t.Error("completed a prefix no word has")
	}
	// The code prompt passes only the word under the cursor.
	if got := Complete("marb"); !slices.Equal(got, []string{"marbled", "marbles", "marbling"}) {
		t.Errorf("Complete(marb) = %q, want the words starting with marb", got)
	}
	if got := Complete("7 reven"); !slices.Equal(got, []string{"7 revenge", "7 revenue"}) {
		t.Errorf("Complete(7 reven) = %q: a space separates words too", got)
	}
	if Complete("") != nil {
		t.Error("an empty input was completed")
	}
	all := Complete("7-abc-")
	if len(all) != len(Words()) {
		t.Errorf("empty prefix gave %d completions, want all %d", len(all), len(Words()))
	}
}

func FuzzParse(f *testing.F) {
	f.Add("7-guitarist-revenge")
	f.Add(" 12 a b ")
	f.Add("\x00-\xff")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(c.String())
		if err != nil || again != c {
			t.Fatalf("Parse(%q) = %+v but re-parsing gives %+v, %v", s, c, again, err)
		}
	})
}
