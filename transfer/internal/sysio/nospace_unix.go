//go:build unix

package sysio

import (
	"errors"
	"syscall"
)

func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
