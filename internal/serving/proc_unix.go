//go:build unix

package serving

import "syscall"

// workerProcAttr puts a worker in its own process group, so killing it
// kills what it started, and on Linux has it killed with the server.
func workerProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(a)
	return a
}

// killGroup kills the process group led by pid.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
