//go:build !linux && !freebsd

package send

import "time"

// sleepThread sleeps with the Go runtime's timer: knocking is not supported
// here anyway.
func sleepThread(d time.Duration) { time.Sleep(d) }
