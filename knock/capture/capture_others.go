//go:build !linux && !freebsd

package capture

import (
	"fmt"
	"log/slog"
	"runtime"
)

func openRing(iface string, _ *compiledFilter, _ *slog.Logger) (ring, error) {
	return nil, fmt.Errorf("capture: live capture on %s is not supported on %s", iface, runtime.GOOS)
}
