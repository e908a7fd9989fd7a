//go:build !unix

package envs

import (
	"context"
	"os/exec"
)

// lockFile is a no-op where flock is unavailable: builds are then only
// serialized within one process.
func lockFile(ctx context.Context, path string, onWait func()) (unlock func(), err error) {
	return func() {}, ctx.Err()
}

func setProcessGroup(cmd *exec.Cmd) {}
