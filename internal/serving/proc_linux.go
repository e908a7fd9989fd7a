package serving

import "syscall"

// setDeathSignal has the kernel kill a worker when the server dies, even
// by SIGKILL, so no worker outlives it holding a model in memory.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
