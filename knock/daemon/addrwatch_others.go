//go:build !linux

package daemon

import (
	"context"
	"log/slog"
)

// watchAddrs is not available here: the daemon lists this host's
// addresses on every tick, and ticks for as long as it runs.
func watchAddrs(context.Context, *slog.Logger) (changed <-chan struct{}, ok bool) {
	return nil, false
}
