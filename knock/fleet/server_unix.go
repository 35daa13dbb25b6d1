//go:build unix

package fleet

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the server in a process group of its own, away
// from the daemon's terminal: Ctrl-C stops the daemon, which then stops
// the server, rather than both at once (the daemon would take the
// server's exit for a crash and start it again).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the server and anything it started.
func killGroup(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
