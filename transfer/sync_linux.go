package transfer

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFiles makes the data of files durable. One syncfs covers a whole
// batch of small files on the same file system, where an fsync each would
// cost a disk flush each.
func syncFiles(files []*os.File) error {
	switch len(files) {
	case 0:
		return nil
	case 1:
		return files[0].Sync()
	}
	raw, err := files[0].SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return err
	}
	return serr
}
