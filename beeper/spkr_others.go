//go:build !freebsd

package beeper

import (
	"fmt"
	"log/slog"
	"runtime"
)

func openSpeakerSpec(string, *slog.Logger) (Speaker, error) {
	return nil, fmt.Errorf("beeper: speaker(4) device not supported on %s (it is FreeBSD's)", runtime.GOOS)
}
