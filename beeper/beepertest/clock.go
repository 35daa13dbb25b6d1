package beepertest

import (
	"context"
	"sync"
	"time"

	"github.com/knockbeep/knockbeep/beeper"
)

// Epoch is a fixed start time for fake clocks, so that recorded times are
// the same in every run.
var Epoch = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

// A Clock is a fake beeper.Clock: SleepUntil returns at once, moving the
// clock to the deadline (plus Lateness), so a song plays in no time and
// every call lands at a known instant.
type Clock struct {
	mu  sync.Mutex
	now time.Time
	// Lateness is added to every wake-up, as a busy machine wakes
	// sleepers late; set it before use.
	Lateness time.Duration
	// OnSleep, when set, runs at the start of every SleepUntil with the
	// deadline, before the clock moves: tests cancel contexts or fail
	// from it. Set it before use.
	OnSleep func(until time.Time)
}

var _ beeper.Clock = (*Clock)(nil)

// NewClock returns a fake clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the fake time: the start, moved on only by Advance and
// SleepUntil.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// SleepUntil moves the clock to t plus Lateness (never backwards), or
// returns ctx's error, without moving it, when ctx is done.
func (c *Clock) SleepUntil(ctx context.Context, t time.Time) error {
	if c.OnSleep != nil {
		c.OnSleep(t)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	c.now = c.now.Add(c.Lateness)
	return nil
}
