package main

import (
	"slices"
	"testing"
)

func TestSecretArgs(t *testing.T) {
	args := []string{"recv", "--relay-password", "hunter2", "--plain", "7-depth-amuser", "--code=12-a-b", "--code", "3-x-y", "--relay-password=pw", "notes-2024.txt", "--", "9-file-name"}
	got := secretArgs(args)
	want := []int{4, 16, 0, 7, 2, len("--code=12-"), 6, 2, len("--relay-password="), len("notes-2024.txt"), 2, len("9-file-name")}
	if !slices.Equal(got, want) {
		t.Errorf("secretArgs = %v, want %v", got, want)
	}
}
