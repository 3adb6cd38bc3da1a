//go:build !unix

package store

import "os"

// lockDir relies on bbolt's own file lock on platforms without flock: a
// second Open fails when bbolt's lock times out (see openBolt).
func lockDir(dir string) (*os.File, error) { return nil, nil }

func unlockDir(f *os.File) error { return nil }
