//go:build !linux

package capture

import (
	"fmt"
	"runtime"
)

func openRing(iface string, _ *compiledFilter) (ring, error) {
	return nil, fmt.Errorf("capture: live capture on %s is not supported on %s", iface, runtime.GOOS)
}
