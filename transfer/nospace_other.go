//go:build !unix && !windows

package transfer

func isNoSpace(error) bool { return false }
