//go:build unix && !linux

package serving

import "syscall"

// setDeathSignal does nothing where there is no parent-death signal; a
// worker still exits when its socket to the server closes.
func setDeathSignal(*syscall.SysProcAttr) {}
