//go:build !unix

package daemon

import (
	"fmt"
	"runtime"
)

func processAlive(int) (bool, error) {
	return false, fmt.Errorf("daemon: cannot tell whether a process is alive on %s: remove the pidfile by hand", runtime.GOOS)
}
