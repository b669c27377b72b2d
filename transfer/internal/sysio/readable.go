package sysio

import "os"

// CheckReadable opens path and closes it again: a file or folder that
// cannot be opened is found before it is offered, not halfway through.
func CheckReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}
