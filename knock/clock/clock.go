package clock

import "time"

// A Clock tells the time and runs a function later.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, unless
	// the returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// A Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call and reports whether it did so; false means
	// the call has already started or happened.
	Stop() bool
}

// System returns the Clock of the time package.
func System() Clock { return system{} }

type system struct{}

func (system) Now() time.Time { return time.Now() }

func (system) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
