package main

import "errors"

func asUsage(err error, target *usageError) bool { return errors.As(err, target) }
