//go:build !bobprofile

package main

// startProfile does nothing in release builds; see profile.go.
func startProfile() (stop func()) { return func() {} }
