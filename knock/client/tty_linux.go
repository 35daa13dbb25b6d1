package client

import (
	"io"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal: TCGETS succeeds only on one.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
