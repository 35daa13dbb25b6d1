//go:build !linux && !freebsd

package beeper

import (
	"fmt"
	"log/slog"
	"runtime"
)

// autoCandidates: this system has no speaker back end; auto can only
// write WAV files.
func autoCandidates(*slog.Logger) []candidate { return nil }

func openDevice(string, *slog.Logger) (Speaker, error) {
	return nil, fmt.Errorf("beeper: speaker devices not supported on %s", runtime.GOOS)
}
