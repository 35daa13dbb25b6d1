//go:build !unix

package beeper

import (
	"os"
	"syscall"
)

// SilenceSignals are the signals on which a program playing sound stops
// and silences the speaker; this system has no hang-up or terminal stop.
var SilenceSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}
