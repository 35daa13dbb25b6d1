//go:build unix

package daemon

import (
	"errors"

	"golang.org/x/sys/unix"
)

// processAlive reports whether process pid exists. EPERM means it exists
// but belongs to another user: alive.
func processAlive(pid int) (bool, error) {
	err := unix.Kill(pid, 0)
	switch {
	case err == nil, errors.Is(err, unix.EPERM):
		return true, nil
	case errors.Is(err, unix.ESRCH):
		return false, nil
	}
	return false, err
}
