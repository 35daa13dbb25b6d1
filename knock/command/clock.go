package command

import "time"

// A Clock tells the time and runs a function later. The Runner uses it for
// cmd_timeout, the wait between a door's start and stop commands, so that
// tests can advance time instead of sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, unless the
	// returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// A Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call and reports whether it did so; false means
	// the call has already started or happened.
	Stop() bool
}

// SystemClock is the Clock of the time package.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
