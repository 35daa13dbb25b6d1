package clock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock"
)

// The system clock's SleepUntil never returns before its deadline, on
// either path (a thread sleep under 2 ms, a timer above), and a done
// context wins over a deadline still to come. Only lower bounds are
// checked: a busy machine may wake a sleeper arbitrarily late.
func TestSystemSleepUntil(t *testing.T) {
	c := clock.System()
	for _, d := range []time.Duration{-time.Second, 0, 500 * time.Microsecond, 5 * time.Millisecond} {
		until := c.Now().Add(d)
		if err := c.SleepUntil(context.Background(), until); err != nil {
			t.Errorf("SleepUntil(now%+v): %v", d, err)
		}
		if now := c.Now(); now.Before(until) {
			t.Errorf("SleepUntil(now%+v) returned %v before its deadline", d, until.Sub(now))
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, d := range []time.Duration{-time.Second, time.Millisecond, time.Hour} {
		if err := c.SleepUntil(ctx, c.Now().Add(d)); !errors.Is(err, context.Canceled) {
			t.Errorf("SleepUntil(now%+v) on a cancelled context returned %v, want context.Canceled", d, err)
		}
	}
}

// AfterFunc runs f later, and Stop tells whether it stopped it.
func TestSystemAfterFunc(t *testing.T) {
	c := clock.System()
	done := make(chan struct{})
	tm := c.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	if tm.Stop() {
		t.Error("Stop of a timer that fired reported true")
	}
	tm = c.AfterFunc(time.Hour, func() { t.Error("a stopped timer fired") })
	if !tm.Stop() {
		t.Error("Stop of a pending timer reported false")
	}
}
