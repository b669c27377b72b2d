package main

import (
	"regexp"
	"strings"
)

// codeArg matches an argument that is a whole code: NAMEPLATE-word-word...
var codeArg = regexp.MustCompile(`^[0-9]+-[^-\s]+(-[^-\s]+)*$`)

// secretArgs returns, for each of args, how many of its leading bytes may
// stay when the secrets are scrubbed: the code's nameplate is kept (it is
// what the relay sees anyway), its words and any password go.
func secretArgs(args []string) []int {
	keep := make([]int, len(args))
	for i, a := range args {
		keep[i] = len(a)
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return keep
		case a == "--code" || a == "--relay-password":
			if i+1 < len(args) {
				keep[i+1] = 0
				if a == "--code" {
					keep[i+1] = nameplateLen(args[i+1])
				}
				i++
			}
		case strings.HasPrefix(a, "--code="):
			keep[i] = len("--code=") + nameplateLen(a[len("--code="):])
		case strings.HasPrefix(a, "--relay-password="):
			keep[i] = len("--relay-password=")
		case codeArg.MatchString(a):
			keep[i] = nameplateLen(a)
		}
	}
	return keep
}

// nameplateLen is the length of code's nameplate and its dash.
func nameplateLen(code string) int {
	if i := strings.IndexByte(code, '-'); i >= 0 {
		return i + 1
	}
	return 0
}

// cloneArgs copies args out of the process's argument memory, which
// scrubArgs then overwrites.
func cloneArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.Clone(a)
	}
	return out
}
