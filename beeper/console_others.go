//go:build !linux && !freebsd

package beeper

import (
	"fmt"
	"log/slog"
	"runtime"
)

func openConsoleSpec(string, *slog.Logger) (Speaker, error) {
	return nil, fmt.Errorf("beeper: console speaker not supported on %s", runtime.GOOS)
}
