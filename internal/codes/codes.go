// Package codes makes and reads bob's transfer codes: NAMEPLATE-word-word,
// where the nameplate is the relay's meeting number and the words are the
// secret, drawn with crypto/rand from the short, easy-to-say words of the
// EFF long word list (more than 6,000 of them: over 25 bits per code).
package codes

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"sync"

	"github.com/sethvargo/go-diceware/diceware"
	"golang.org/x/text/unicode/norm"
)

// WordsPerCode is how many secret words a generated code has.
const WordsPerCode = 2

// maxWordLen keeps words short enough to read aloud and type; the EFF list
// still gives more than 6,000 words of at most this length.
const maxWordLen = 8

// MinSecretLen is the shortest secret bob accepts in a code given with
// --code: shorter ones are too easy to guess even with one guess per code.
const MinSecretLen = 6

// Words returns the sorted word list codes are drawn from.
var Words = sync.OnceValue(func() []string {
	list := diceware.WordListEffLarge()
	words := make([]string, 0, 7776)
	for a := 1; a <= 6; a++ {
		for b := 1; b <= 6; b++ {
			for c := 1; c <= 6; c++ {
				for d := 1; d <= 6; d++ {
					for e := 1; e <= 6; e++ {
						w := list.WordAt(a*10000 + b*1000 + c*100 + d*10 + e)
						if len(w) <= maxWordLen && isLowerASCII(w) {
							words = append(words, w)
						}
					}
				}
			}
		}
	}
	sort.Strings(words)
	return words
})

func isLowerASCII(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// Code is a parsed transfer code.
type Code struct {
	Nameplate string // digits, known to the relay
	Secret    string // never sent to the relay
}

// String is the code as a person types it.
func (c Code) String() string { return c.Nameplate + "-" + c.Secret }

// Generate draws a new secret for nameplate. random is crypto/rand.Reader
// unless a test passes its own.
func Generate(nameplate string, random io.Reader) (Code, error) {
	if random == nil {
		random = rand.Reader
	}
	if !isNameplate(nameplate) {
		return Code{}, fmt.Errorf("relay gave an invalid nameplate \"%s\"", nameplate)
	}
	words := Words()
	picked := make([]string, WordsPerCode)
	for i := range picked {
		n, err := rand.Int(random, big.NewInt(int64(len(words))))
		if err != nil {
			return Code{}, fmt.Errorf("drawing a random code: %w", err)
		}
		picked[i] = words[n.Int64()]
	}
	return Code{Nameplate: nameplate, Secret: strings.Join(picked, "-")}, nil
}

// ErrMalformed is returned for text that is not a code.
var ErrMalformed = errors.New("a code looks like 7-guitarist-revenge: a number, a dash, then the words")

// Parse reads a code as typed: surrounding space, case and Unicode
// normalisation differences are forgiven; spaces between words count as dashes.
func Parse(s string) (Code, error) {
	s = Normalize(s)
	s = strings.Join(strings.Fields(s), "-")
	nameplate, secret, ok := strings.Cut(s, "-")
	if !ok || !isNameplate(nameplate) || secret == "" {
		return Code{}, ErrMalformed
	}
	return Code{Nameplate: nameplate, Secret: secret}, nil
}

// ParseChosen reads a code the sender chose with --code. Its secret must be
// long enough to resist a guess.
func ParseChosen(s string) (Code, error) {
	c, err := Parse(s)
	if err != nil {
		return Code{}, err
	}
	if len([]rune(c.Secret)) < MinSecretLen {
		return Code{}, fmt.Errorf("the secret part of the code (after \"%s\") must be at least %d characters", c.Nameplate+"-", MinSecretLen)
	}
	return c, nil
}

// Normalize trims space, lower-cases and applies Unicode NFC, so that the two
// sides agree on the code however it was typed.
func Normalize(s string) string {
	return norm.NFC.String(strings.ToLower(strings.TrimSpace(s)))
}

func isNameplate(s string) bool {
	if s == "" || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Complete returns the completions of a partly typed code: the last word,
// after the last dash or space, is completed from the word list and each
// completion repeats what came before it. It takes a whole code ("7-mar")
// or a bare word ("mar", as the code prompt passes the word under the
// cursor). The nameplate is not completed.
func Complete(typed string) []string {
	i := strings.LastIndexAny(typed, "- ")
	head, prefix := typed[:i+1], strings.ToLower(typed[i+1:])
	if head == "" && (prefix == "" || isNameplate(prefix)) {
		return nil
	}
	words := Words()
	start := sort.SearchStrings(words, prefix)
	var out []string
	for _, w := range words[start:] {
		if !strings.HasPrefix(w, prefix) {
			break
		}
		out = append(out, head+w)
	}
	return out
}
