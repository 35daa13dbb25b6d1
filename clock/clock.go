package clock

import (
	"context"
	"time"
)

// A Clock tells the time, waits for it and runs a function later.
type Clock interface {
	Now() time.Time
	// SleepUntil returns when the clock reaches t, or with ctx's error
	// when ctx is done first. A t in the past returns at once, with ctx's
	// error if it is done.
	SleepUntil(ctx context.Context, t time.Time) error
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

// System returns the Clock of the time package. Times it returns carry
// Go's monotonic reading, so sleeping until start+offset is immune to
// wall-clock steps.
func System() Clock { return system{} }

type system struct{}

func (system) Now() time.Time { return time.Now() }

func (system) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// preciseSleep is the last stretch of every wait, which the system clock
// sleeps on the thread rather than with a Go timer: Go's timers on Linux
// fire no sooner than about a millisecond late (the poller waits in whole
// milliseconds), which would turn knock's -d 0.1 into 1.1 ms and start an
// orchestra's voices a millisecond apart, whereas nanosleep(2) overshoots
// by tens of microseconds. Not noticing a cancellation for at most this
// long is fine.
const preciseSleep = 2 * time.Millisecond

// SleepUntil waits with a Go timer until preciseSleep before t, then
// sleeps the thread for the rest.
func (system) SleepUntil(ctx context.Context, t time.Time) error {
	if d := time.Until(t) - preciseSleep; d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if d := time.Until(t); d > 0 {
		sleepThread(d)
	}
	return ctx.Err()
}
