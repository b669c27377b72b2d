// Package tui holds bob's terminal views: bubbletea models over the events a
// transfer emits, with every lipgloss style in one place.
package tui
