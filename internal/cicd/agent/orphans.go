package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// A server killed with SIGKILL cannot stop the steps it was running: each
// runs in a process group of its own, which outlives the server. The agent
// therefore writes down every process group it starts (Config.GroupsDir,
// one file per group named by its id, holding the leader's start time) and
// removes the record when the job ends; KillOrphans, called by the next
// server before anything else runs, kills the groups still recorded.

// recordGroup notes process group pgid as the agent's; errors are logged,
// never fatal to the step.
func (a *Agent) recordGroup(pgid int) {
	if a.cfg.GroupsDir == "" {
		return
	}
	if err := os.MkdirAll(a.cfg.GroupsDir, 0o700); err == nil {
		err = os.WriteFile(a.groupFile(pgid), []byte(processStart(pgid)), 0o600)
		if err == nil {
			return
		}
	}
	a.log.Warn("record a step's process group", "pgid", pgid, "dir", a.cfg.GroupsDir)
}

// forgetGroup removes pgid's record once its group has been killed.
func (a *Agent) forgetGroup(pgid int) {
	if a.cfg.GroupsDir != "" {
		_ = os.Remove(a.groupFile(pgid))
	}
}

func (a *Agent) groupFile(pgid int) string {
	return filepath.Join(a.cfg.GroupsDir, strconv.Itoa(pgid))
}

// KillOrphans kills, with SIGKILL, the process groups of steps that an
// earlier agent using the same GroupsDir started and never saw end (its
// server was killed), and forgets them. A group whose id now belongs to a
// process that started at another time is someone else's and is left
// alone. It returns the groups it signalled. It must not be called while
// this agent runs jobs.
func (a *Agent) KillOrphans() ([]int, error) {
	if a.cfg.GroupsDir == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(a.cfg.GroupsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read step process groups: %w", err)
	}
	var killed []int
	for _, e := range ents {
		pgid, err := strconv.Atoi(e.Name())
		if err != nil || pgid <= 1 {
			_ = os.Remove(filepath.Join(a.cfg.GroupsDir, e.Name()))
			continue
		}
		b, err := os.ReadFile(a.groupFile(pgid))
		if err != nil {
			continue
		}
		// The leader, when still there, must be the process recorded. When
		// it is gone the id cannot have been handed to another process
		// while members of the group live, so the group is still ours.
		if now := processStart(pgid); now == "" || now == strings.TrimSpace(string(b)) {
			if syscall.Kill(-pgid, syscall.SIGKILL) == nil {
				killed = append(killed, pgid)
			}
		}
		a.forgetGroup(pgid)
	}
	return killed, nil
}

// processStart is pid's start time in clock ticks since boot (field 22 of
// /proc/<pid>/stat), "" when there is no such process or no /proc.
func processStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; fields count from its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "Z" {
		return ""
	}
	return f[19]
}
