//go:build !linux

package beeper

import (
	"fmt"
	"log/slog"
	"runtime"
)

func openEvdevSpec(string, *slog.Logger) (Speaker, error) {
	return nil, fmt.Errorf("beeper: evdev speaker not supported on %s (it is Linux's input layer)", runtime.GOOS)
}
