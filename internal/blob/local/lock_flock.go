//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package local

import (
	"os"
	"syscall"
)

// lockTemp takes an exclusive lock on the new temporary file f without
// waiting and reports whether it got it. The lock lasts until f is closed,
// or its process dies.
func lockTemp(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// abandoned reports whether no Put holds the temporary file f: whether f's
// lock is free. The lock, once taken, lasts until f is closed.
func abandoned(f *os.File) bool { return lockTemp(f) }
