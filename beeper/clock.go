package beeper

import (
	"context"
	"time"
)

// A Clock tells the time and waits for it. The Player takes one so that
// tests run on a fake clock (beepertest.Clock) without sleeping.
type Clock interface {
	Now() time.Time
	// SleepUntil returns when the clock reaches t, or with ctx's error
	// when ctx is done first. A t in the past returns at once.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the real clock. Times it returns carry Go's monotonic
// reading, so sleeping until start+offset is immune to wall-clock steps.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
