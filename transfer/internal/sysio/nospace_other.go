//go:build !unix && !windows

package sysio

func IsNoSpace(error) bool { return false }
