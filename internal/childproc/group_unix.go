//go:build unix

package childproc

import (
	"os/exec"
	"syscall"
)

// OwnGroup makes cmd, before it starts, the leader of a process group of
// its own: the terminal's signals (Ctrl-C on a daemon run by hand) go to
// the daemon, which decides what becomes of its children, and KillGroup
// reaches whatever the child started too.
func OwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// KillGroup kills the group of a cmd started after OwnGroup: the child
// and everything it started that stayed in its group.
func KillGroup(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
