//go:build !unix

package fleet

import "os/exec"

// ownProcessGroup does nothing where there are no process groups.
func ownProcessGroup(*exec.Cmd) {}

// killGroup kills the server.
func killGroup(cmd *exec.Cmd) { cmd.Process.Kill() }
