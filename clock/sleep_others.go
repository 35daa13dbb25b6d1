//go:build !linux && !freebsd

package clock

import "time"

// sleepThread sleeps with the Go runtime's timer: neither knocking nor a
// speaker is supported here, so a millisecond's precision does not matter.
func sleepThread(d time.Duration) { time.Sleep(d) }
