package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock/clocktest"
)

// The once-a-second tick stops when it has nothing to do, so that an idle
// daemon wakes for nothing, and starts again with the next knock: it
// ticks while the knock's attempt lives, and rests again once the
// attempt has timed out. Without the kernel's address watch it never
// rests.
func TestTickerRestsUntilAKnock(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false
[[door]]
name = "ssh"
sequence = ["7000", "8000"]
timeout = "5s"
start_command = ["/bin/true"]
`)
	clk := clocktest.NewFake(captureStart)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A file's daemon runs no ticker of its own: this test runs one on
	// it, beside the owner that Run runs, with an empty queue of its own
	// (the file's knocks are taken in lockstep: none waits).
	f := startFeedWith(t, path, ctx, Options{Clock: clk})
	ticked := make(chan struct{})
	addrs := make(chan struct{}) // the kernel's address watch, as watchAddrs gives it
	go func() {
		defer close(ticked)
		f.d.ticker(ctx, newEventQueue(16), addrs, true)
	}()
	rests := func() int { return strings.Count(f.log.String(), restMsg) }
	waitRests := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); rests() < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the ticker rested %d times, want %d", rests(), n)
			}
		}
	}
	waitTimer := func(when string) {
		t.Helper()
		if !clk.WaitPending(1, 10*time.Second) {
			t.Fatalf("%s: no tick armed", when)
		}
	}

	waitTimer("at start")
	clk.Advance(time.Second)
	waitRests(1)
	if n := clk.Pending(); n != 0 {
		t.Fatalf("resting with nothing to do: %d timers armed, want none", n)
	}

	f.send(syn(time.Second, "192.0.2.10", hostAddr4, 7000)) // now: an attempt begins
	waitTimer("after a knock")
	for i := range 4 { // the attempt lives 5 s: the ticker ticks on
		clk.Advance(time.Second)
		waitTimer("while an attempt lives")
		if rests() != 1 {
			t.Fatalf("rested %d s into a 5 s attempt", i+1)
		}
	}
	clk.Advance(2 * time.Second) // past the timeout: the tick expires it
	waitRests(2)
	if n := clk.Pending(); n != 0 {
		t.Fatalf("resting after the attempt expired: %d timers armed, want none", n)
	}

	// The address watch ends (its socket failed): no knock may come to
	// wake the ticker, so it stops resting and lists the addresses every
	// second from now on.
	close(addrs)
	waitTimer("after the address watch ended")
	for range 3 {
		clk.Advance(time.Second)
		waitTimer("without an address watch")
	}
	if rests() != 2 {
		t.Fatalf("the ticker rested without an address watch (%d rests, want 2)", rests())
	}
	cancel()
	<-ticked
}
