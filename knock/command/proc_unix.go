//go:build unix

package command

import (
	"os/exec"
	"syscall"
)

// killProcessGroup makes cmd the leader of a process group of its own and
// has a timeout kill the whole group, so that a shell command's children
// die with it instead of holding the door's queue. Its own group also keeps
// the daemon's terminal signals (Ctrl-C under -D) away from a stop command
// that shutdown is waiting for.
func killProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
