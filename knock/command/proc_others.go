//go:build !unix

package command

import "os/exec"

// killProcessGroup leaves exec's default in place: a timeout kills the
// command's own process only.
func killProcessGroup(cmd *exec.Cmd) {}
