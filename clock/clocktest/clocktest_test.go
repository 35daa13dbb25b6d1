package clocktest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock/clocktest"
)

var start = time.Date(2024, 5, 4, 12, 0, 0, 0, time.UTC)

// Timers fire when the time reaches them, in the order they were armed,
// and not when stopped first.
func TestFakeFiresDueTimers(t *testing.T) {
	c := clocktest.NewFake(start)
	var fired []string
	arm := func(name string, d time.Duration) func() bool {
		return c.AfterFunc(d, func() { fired = append(fired, name) }).Stop
	}
	arm("2s", 2*time.Second)
	arm("1s", time.Second)
	stop3s := arm("3s", 3*time.Second)
	arm("1s again", time.Second)

	steps := []struct {
		advance     time.Duration
		wantFired   []string
		wantPending int
	}{
		{advance: 999 * time.Millisecond, wantFired: nil, wantPending: 4},
		{advance: time.Millisecond, wantFired: []string{"1s", "1s again"}, wantPending: 2},
		{advance: 5 * time.Second, wantFired: []string{"1s", "1s again", "2s", "3s"}, wantPending: 0},
	}
	for i, s := range steps {
		c.Advance(s.advance)
		if !slices.Equal(fired, s.wantFired) {
			t.Errorf("step %d: fired (-want +got):\n-%q\n+%q", i, s.wantFired, fired)
		}
		if got := c.Pending(); got != s.wantPending {
			t.Errorf("step %d: Pending() (-want +got):\n-%d\n+%d", i, s.wantPending, got)
		}
	}
	if stop3s() {
		t.Error("Stop of a timer that fired reported true")
	}
	if got, want := c.Now(), start.Add(6*time.Second); !got.Equal(want) {
		t.Errorf("Now() (-want +got):\n-%v\n+%v", want, got)
	}
}

func TestFakeStop(t *testing.T) {
	c := clocktest.NewFake(start)
	fired := false
	tm := c.AfterFunc(time.Second, func() { fired = true })
	if !tm.Stop() {
		t.Error("Stop of a pending timer reported false")
	}
	if tm.Stop() {
		t.Error("a second Stop reported true")
	}
	c.Advance(time.Hour)
	if fired {
		t.Error("a stopped timer fired")
	}
}

// WaitPending sees a timer armed by another goroutine, and gives up after
// its timeout when none comes.
func TestFakeWaitPending(t *testing.T) {
	c := clocktest.NewFake(start)
	go func() {
		time.Sleep(10 * time.Millisecond)
		c.AfterFunc(time.Second, func() {})
	}()
	if !c.WaitPending(1, 10*time.Second) {
		t.Fatal("WaitPending(1) did not see the timer armed by another goroutine")
	}
	if c.WaitPending(2, 20*time.Millisecond) {
		t.Error("WaitPending(2) reported true with one timer pending")
	}
	c.Advance(time.Second)
	if !c.WaitPending(0, 0) {
		t.Error("WaitPending(0) after the timer fired reported false")
	}
}

// SleepUntil moves the time to the deadline plus Lateness, never back,
// fires the timers on the way, and leaves the time alone when the context
// is done.
func TestFakeSleepUntil(t *testing.T) {
	c := clocktest.NewFake(start)
	c.Lateness = 3 * time.Millisecond
	var slept []time.Duration
	c.OnSleep = func(until time.Time) { slept = append(slept, until.Sub(c.Now())) }
	fired := false
	c.AfterFunc(time.Second, func() { fired = true })

	ctx := context.Background()
	steps := []struct {
		name    string
		until   time.Duration // from start
		wantNow time.Duration // from start
	}{
		{name: "ahead: to the deadline, late", until: 500 * time.Millisecond, wantNow: 503 * time.Millisecond},
		{name: "behind: never back, still late", until: 0, wantNow: 506 * time.Millisecond},
		{name: "past a timer: it fires", until: time.Second, wantNow: 1003 * time.Millisecond},
	}
	for _, s := range steps {
		if err := c.SleepUntil(ctx, start.Add(s.until)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := c.Now().Sub(start); got != s.wantNow {
			t.Errorf("%s: Now()-start (-want +got):\n-%v\n+%v", s.name, s.wantNow, got)
		}
	}
	if !fired {
		t.Error("the timer at 1s did not fire when SleepUntil passed it")
	}
	if want := []time.Duration{500 * time.Millisecond, -503 * time.Millisecond, 494 * time.Millisecond}; !slices.Equal(slept, want) {
		t.Errorf("OnSleep saw waits (-want +got):\n-%v\n+%v", want, slept)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	before := c.Now()
	if err := c.SleepUntil(cancelled, before.Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("SleepUntil on a cancelled context returned %v, want context.Canceled", err)
	}
	if got := c.Now(); !got.Equal(before) {
		t.Errorf("SleepUntil on a cancelled context moved the time by %v", got.Sub(before))
	}
}
