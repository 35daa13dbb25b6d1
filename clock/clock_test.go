package clock_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock"
)

// The system clock's SleepUntil never returns before its deadline (a wait
// under 2 ms slept on the thread, a longer one with a timer first), and a
// done context wins over a deadline still to come. Only lower bounds are
// checked: a busy machine may wake a sleeper arbitrarily late; the
// benchmark below prints how late.
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

// BenchmarkSystemSleepUntil prints how late the system clock's SleepUntil
// returns from a 5 ms wait, p50 and p99: the figure behind an orchestra's
// voices starting together and knock -d's pacing.
func BenchmarkSystemSleepUntil(b *testing.B) {
	c := clock.System()
	late := make([]time.Duration, 0, b.N)
	for range b.N {
		until := c.Now().Add(5 * time.Millisecond)
		if err := c.SleepUntil(context.Background(), until); err != nil {
			b.Fatal(err)
		}
		late = append(late, c.Now().Sub(until))
	}
	slices.Sort(late)
	b.ReportMetric(float64(late[len(late)/2].Microseconds()), "late-p50-µs")
	b.ReportMetric(float64(late[len(late)*99/100].Microseconds()), "late-p99-µs")
}
