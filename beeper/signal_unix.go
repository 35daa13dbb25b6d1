//go:build unix

package beeper

import (
	"os"
	"syscall"
)

// SilenceSignals are the signals on which a program playing sound stops
// and silences the speaker: interrupt (Ctrl-C), termination, hang-up, and
// the terminal stop (Ctrl-Z), which would otherwise freeze the process
// with the speaker on.
var SilenceSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGTSTP}
