//go:build linux || freebsd

package clock

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// sleepThread blocks the calling thread for d with nanosleep(2), resuming
// after a signal with the time that remains.
func sleepThread(d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	for {
		var left unix.Timespec
		err := unix.Nanosleep(&ts, &left)
		if !errors.Is(err, unix.EINTR) {
			return
		}
		ts = left
	}
}
