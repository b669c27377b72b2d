//go:build !linux

package transfer

import "os"

// syncFiles makes the data of files durable.
func syncFiles(files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}
