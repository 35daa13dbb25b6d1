//go:build !linux && !freebsd

package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
)

func newSyslogHandler(slog.Leveler) (slog.Handler, io.Closer, error) {
	return nil, nil, fmt.Errorf("daemon: syslog is not supported on %s: log to stderr or a file", runtime.GOOS)
}
