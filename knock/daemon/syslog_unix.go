//go:build linux || freebsd

package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"sync"
)

// newSyslogHandler connects to the local syslog (facility daemon, tag
// knockbeepd) and returns a handler that sends each record with the
// severity of its level and no time stamp: syslog adds its own.
func newSyslogHandler(level slog.Leveler) (slog.Handler, io.Closer, error) {
	w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "knockbeepd")
	if err != nil {
		return nil, nil, fmt.Errorf("daemon: connecting to syslog (is a syslog daemon or journald running?): %w", err)
	}
	h := &lineHandler{level: level, mu: new(sync.Mutex), emit: func(l slog.Level, line string) error {
		switch {
		case l >= slog.LevelError:
			return w.Err(line)
		case l >= slog.LevelWarn:
			return w.Warning(line)
		case l >= slog.LevelInfo:
			return w.Info(line)
		default:
			return w.Debug(line)
		}
	}}
	return h, w, nil
}
