package music

import "time"

// A Clock tells the time and runs a function later. Music uses it to name
// archived songs, to space out refusal log lines and to time the periodic
// fsync of the pools, so that tests advance time instead of sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, unless the
	// returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// A Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call and reports whether it did so.
	Stop() bool
}

// SystemClock is the Clock of the time package.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
