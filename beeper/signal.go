package beeper

import (
	"context"
	"os/signal"
)

// SignalContext returns a copy of parent that is cancelled when the
// process receives one of SilenceSignals, so that a Player using it stops
// and silences the speaker instead of dying with the speaker on. stop
// releases the signals; call it when done.
//
// The signals stay caught until stop is called: a second Ctrl-C does not
// kill the program before the speaker is silent.
func SignalContext(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(parent, SilenceSignals...)
}
