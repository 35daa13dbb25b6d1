//go:build !unix

package childproc

import "os/exec"

// OwnGroup does nothing where there are no process groups.
func OwnGroup(*exec.Cmd) {}

// KillGroup kills the child alone.
func KillGroup(cmd *exec.Cmd) error { return cmd.Process.Kill() }
