package clocktest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/knockbeep/knockbeep/clock"
)

// A Fake is a clock.Clock whose time moves only when Advance or
// SleepUntil moves it. It is safe for concurrent use.
type Fake struct {
	// Lateness is added to every wake-up from SleepUntil, as a busy
	// machine wakes sleepers late; set it before use.
	Lateness time.Duration
	// OnSleep, when set, runs at the start of every SleepUntil with the
	// deadline, before the clock moves: tests record waits, cancel
	// contexts or fail from it. Set it before use.
	OnSleep func(until time.Time)

	mu      sync.Mutex
	now     time.Time
	timers  []*timer
	changed chan struct{} // closed, and replaced, when timers changes
}

var _ clock.Clock = (*Fake)(nil)

type timer struct {
	c    *Fake
	when time.Time
	f    func()
}

// NewFake returns a Fake reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer that Advance fires once the fake time reaches
// Now()+d.
func (c *Fake) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: c, when: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.changedLocked()
	return t
}

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	t.c.changedLocked()
	return true
}

// SleepUntil returns at once, having moved the time to t plus Lateness
// (never backwards) as Advance does, so that a song plays or knocks are
// paced in no time and every call lands at a known instant. When ctx is
// done it returns ctx's error without moving the time.
func (c *Fake) SleepUntil(ctx context.Context, t time.Time) error {
	if c.OnSleep != nil {
		c.OnSleep(t)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.moveTo(func(now time.Time) time.Time {
		if t.After(now) {
			now = t
		}
		return now.Add(c.Lateness)
	})
	return nil
}

// Advance moves the time on by d and calls the functions of the timers
// that came due, in the order they were armed, from the calling goroutine
// (a real AfterFunc would use one goroutine each); it returns when they
// have returned.
func (c *Fake) Advance(d time.Duration) {
	c.moveTo(func(now time.Time) time.Time { return now.Add(d) })
}

// moveTo sets the time to next(the time) and fires the timers that came
// due, as Advance says.
func (c *Fake) moveTo(next func(time.Time) time.Time) {
	c.mu.Lock()
	c.now = next(c.now)
	var due []*timer
	c.timers = slices.DeleteFunc(c.timers, func(t *timer) bool {
		if !t.when.After(c.now) {
			due = append(due, t)
			return true
		}
		return false
	})
	if len(due) > 0 {
		c.changedLocked()
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// Pending is the number of timers armed and neither stopped nor fired.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitPending waits, for up to timeout of real time, until n timers are
// pending, and reports whether they are. Code under test often arms its
// timers from a goroutine of its own: a test waits for them before it
// advances the time.
func (c *Fake) WaitPending(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		pending, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if pending == n {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

func (c *Fake) changedLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
