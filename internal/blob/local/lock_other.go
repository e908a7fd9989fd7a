//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package local

import (
	"os"
	"time"
)

// lockTemp is a no-op where flock is missing.
func lockTemp(*os.File) bool { return true }

// abandoned, where flock is missing, takes a temporary file nothing wrote
// to for a day for the leftover of a crash.
func abandoned(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && time.Since(fi.ModTime()) > 24*time.Hour
}
